import ArgumentParser
import ErrWatchBench
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch bench query`.
struct BenchQueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Times the history and rate queries on a large generated database.",
        discussion: helpText("""
            Generates --rows error rows over --days days (10% of calls failing, so ten times as
            many calls are counted), rolls the counts up, and runs each query --repeat times in
            process, output discarded: `errors --since 1h --type rate_limit_error --limit 100`
            and `rates --window 30d --by model`. It prints the median and the slowest time.

            Example:
              swift run -c release errwatch bench query
            """))

    @Option(help: "Error rows to generate.")
    var rows = 10_000_000
    @Option(help: "Days the rows span, ending now.")
    var days = 30
    @Option(name: .customLong("repeat"), help: "Times each query runs.")
    var repetitions = 21
    @Option(help: ArgumentHelp("Keep the generated database at this path (reused when it exists).", valueName: "path"))
    var keep: String?

    func run() async throws {
        let context = CommandContext.current
        guard rows >= 1_000, days >= 1, repetitions >= 1 else {
            throw ValidationError("Give --rows of at least 1000, --days of at least 1 and --repeat of at least 1.")
        }
        let now = context.now()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("errwatch-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = keep ?? directory.appendingPathComponent("query.db").path

        if !FileManager.default.fileExists(atPath: path) {
            let store = try Store.open(path: path)
            let took = try await Measure.seconds { try QueryBenchmark.generate(into: store, rows: rows, days: days, now: now) }
            context.warn(String(format: "generated %d error rows over %d days in %.1f s", rows, days, took))
        }

        let environment = ["ERRWATCH_DB": path]
        let queries = [
            ["errors", "--since", "1h", "--type", "rate_limit_error", "--limit", "100"],
            ["rates", "--window", "\(days)d", "--by", "model"],
        ]
        let timed = queries.map { arguments in
            (name: "errwatch " + arguments.joined(separator: " "), run: { () async throws -> Void in
                var command = try ErrWatchCommand.parseAsRoot(arguments)
                let quiet = CommandContext(
                    environment: environment, now: { now }, standardOutput: { _ in }, standardError: { _ in },
                    standardInput: { FileHandle.nullDevice })
                try await CommandContext.$current.withValue(quiet) {
                    if var asyncCommand = command as? any AsyncParsableCommand {
                        try await asyncCommand.run()
                    } else {
                        try command.run()
                    }
                }
            })
        }
        try await QueryBenchmark.time(timed, repetitions: repetitions).render(.table, to: context.standardOutput)
    }
}
