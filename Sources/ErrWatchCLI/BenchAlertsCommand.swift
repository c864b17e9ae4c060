import ArgumentParser
import ErrWatchBench
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch bench alerts`.
struct BenchAlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Times one evaluation of many rules over many groups against an evaluation interval.",
        discussion: helpText("""
            Records --days days of minute counts for --groups models (each calls in one minute of
            ten: 50 calls, some rate-limited or unavailable; a few models burst in the last half
            hour and a few show a new error), rolls them up, then evaluates --rules rules as the
            agent does (40% threshold, 20% change, 20% burn-rate with the Workbook's windows, 20%
            new-error; each grouped by model) --repeat times as the agent does (counts read, rules
            stepped, changed alerts and events stored), alert state carried from one evaluation to
            the next. It prints the median and slowest evaluation and their ratio to
            the default 15 s evaluation interval. With --mix latency the rules are latency rules
            instead (p50 to p99 over 5 minutes to 6 hours, read from the latency histograms; the
            bursting models are slow).

            Examples:
              swift run -c release errwatch bench alerts
              swift run -c release errwatch bench alerts --mix latency
            """))

    @Option(help: "Rules to evaluate.")
    var rules = 100
    @Option(help: "Models, one alert group each.")
    var groups = 1_000
    @Option(help: "Days of minute counts, ending now.")
    var days = 30
    @Option(name: .customLong("repeat"), help: "Evaluations to time.")
    var repetitions = 5
    @Option(help: ArgumentHelp("The rules' kinds: mixed or latency.", valueName: "mix"))
    var mix = "mixed"
    @Option(help: ArgumentHelp("Keep the generated database at this path (reused when it exists).", valueName: "path"))
    var keep: String?

    func run() async throws {
        let context = CommandContext.current
        guard rules >= 1, groups >= 10, days >= 1, repetitions >= 1 else {
            throw ValidationError("Give --rules of at least 1, --groups of at least 10, --days and --repeat of at least 1.")
        }
        #if DEBUG
        context.warn("warning: this is a debug build; measure with 'swift run -c release errwatch bench alerts'.")
        #endif
        let now = Timestamp.floor(context.now(), to: Timestamp.minute)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("errwatch-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = keep ?? directory.appendingPathComponent("alerts.db").path
        let store = try Store.open(path: path)
        guard let ruleMix = AlertsBenchmark.Mix(rawValue: mix) else { throw ValidationError("Invalid --mix '\(mix)'; give mixed or latency.") }
        var benchmark = AlertsBenchmark(rules: rules, groups: groups, days: days, repetitions: repetitions)
        benchmark.mix = ruleMix
        if try store.rates(Filter(since: 0, until: .max), by: []).first?.calls ?? 0 == 0 {
            let took = try await Measure.seconds { try benchmark.generate(into: store, now: now) }
            context.warn(String(format: "recorded %d days of minute counts for %d models in %.1f s", days, groups, took))
        }
        try await benchmark.run(store: store, now: now) { context.warn($0) }.render(.table, to: context.standardOutput)
    }
}
