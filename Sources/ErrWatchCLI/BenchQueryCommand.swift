import ArgumentParser
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
            let took = try await seconds { try generate(into: store, now: now) }
            context.warn(String(format: "generated %d error rows over %d days in %.1f s", rows, days, took))
        }

        let environment = ["ERRWATCH_DB": path]
        let queries = [
            ["errors", "--since", "1h", "--type", "rate_limit_error", "--limit", "100"],
            ["rates", "--window", "\(days)d", "--by", "model"],
        ]
        var results: [[Cell]] = []
        for arguments in queries {
            var times: [Double] = []
            for _ in 0..<repetitions {
                var command = try ErrWatchCommand.parseAsRoot(arguments)
                let quiet = CommandContext(
                    environment: environment, now: { now }, standardOutput: { _ in }, standardError: { _ in },
                    standardInput: { FileHandle.nullDevice })
                times.append(try await seconds {
                    try await CommandContext.$current.withValue(quiet) {
                        if var asyncCommand = command as? any AsyncParsableCommand {
                            try await asyncCommand.run()
                        } else {
                            try command.run()
                        }
                    }
                })
            }
            results.append([.text("errwatch " + arguments.joined(separator: " ")),
                            .number(median(times) * 1_000, digits: 2), .number(times.max()! * 1_000, digits: 2)])
        }
        Report(columns: ["query", "median_ms", "max_ms"], rows: results).render(.table, to: context.standardOutput)
    }

    /// Writes the error rows minute by minute, with the successes of each minute aggregated
    /// per app, endpoint and model (`count`), as a client library reports them.
    private func generate(into store: Store, now: Int64) throws {
        var data = BenchData(seed: 7)
        let minutes = days * 1_440
        let start = Timestamp.floor(now, to: Timestamp.minute) - Int64(minutes) * Timestamp.minute
        let errorsPerMinute = Double(rows) / Double(minutes)
        var written = 0
        for minute in 0..<minutes {
            let target = Int((Double(minute + 1) * errorsPerMinute).rounded()) - written
            written += target
            let base = start + Int64(minute) * Timestamp.minute
            var outcomes: [CallOutcome] = []
            var successes: [String: CallOutcome] = [:]
            outcomes.reserveCapacity(target)
            for index in 0..<target {
                let ts = base + Int64(index) * Timestamp.minute / Int64(max(target, 1))
                outcomes.append(data.outcome(at: ts, errorShare: 1))
                // Nine successes per error, folded into one record per dimensions.
                var ok = data.outcome(at: base, errorShare: 0)
                let key = "\(ok.app)|\(ok.endpoint)|\(ok.model)"
                ok.count = (successes[key]?.count ?? 0) + 9
                successes[key] = ok
            }
            outcomes += successes.values
            try store.record(outcomes)
        }
        try store.rollUp(now: now)
    }
}
