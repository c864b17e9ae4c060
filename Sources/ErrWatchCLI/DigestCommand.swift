import ArgumentParser
import ErrWatchAgent
import ErrWatchCore
import Foundation
import Logging

/// `errwatch digest`: a configured digest, previewed or sent now.
struct DigestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest",
        abstract: "Prints a configured digest of its last period, or sends it now to its notifiers.",
        discussion: helpText("""
            The agent sends each digest of the configuration's digests: list on its schedule. This
            prints the one named (or the only one) as its log notifier would write it: its
            sentence, then the report of the period before its latest scheduled time (or before
            --at). --send delivers it now to its notifiers, with their retries, to check them;
            the exit status is 1 when one of them failed.

            Examples:
              errwatch digest --config errwatch.yaml
              errwatch digest daily-errors --config errwatch.yaml --send
            """))

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var config: AlertsCommand.ConfigOptions
    @Argument(help: ArgumentHelp("The digest's name (default: the only one).", valueName: "name"))
    var name: String?
    @Option(help: ArgumentHelp("The period ends at the latest scheduled time at or before this one.", valueName: "time"))
    var at = "now"
    @Flag(help: "Send it now to its notifiers instead of printing it.")
    var send = false

    func run() async throws {
        let context = CommandContext.current
        let configuration = try config.load(required: true)!
        let digests = configuration.alerts.digests
        let names = digests.map(\.name).joined(separator: ", ")
        guard !digests.isEmpty else { throw ValidationError("The configuration has no digests; add some under digests:.") }
        let digest: DigestConfiguration
        if let name {
            guard let found = digests.first(where: { $0.name == name }) else {
                throw ValidationError("No digest '\(name)' in the configuration; it has: \(names).")
            }
            digest = found
        } else {
            guard digests.count == 1 else { throw ValidationError("The configuration has several digests (\(names)); name one.") }
            digest = digests[0]
        }
        let end = DigestSender.lastSend(digest.schedule, atOrBefore: try parseTime(at, option: "--at", now: context.now()))
        let store = try database.openForReading(configured: configuration)
        guard send else {
            context.standardOutput(try DigestSender.text(digest, store: store, endingAt: end, dashboardURL: configuration.dashboardURL))
            return
        }
        var logger = Logger(label: "errwatch.digest")
        logger.logLevel = .error
        let failed = try await DigestSender.send(digest, notifiers: configuration.alerts.notifiers, store: store, endingAt: end,
                                                 dashboardURL: configuration.dashboardURL, logger: logger)
        let delivered = digest.notify.filter { !failed.contains($0) }
        if !delivered.isEmpty { context.print("Sent digest \(digest.name) to \(delivered.joined(separator: ", ")).") }
        if !failed.isEmpty {
            context.warn("Could not send digest \(digest.name) to \(failed.joined(separator: ", ")); the log above says why.")
            throw ExitCode.failure
        }
    }
}
