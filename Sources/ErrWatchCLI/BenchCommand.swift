import ArgumentParser
import ErrWatchBench
import ErrWatchReport
import Foundation

/// `errwatch bench`: the shipped benchmarks.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measures recording and query speed against a bare-SQLite baseline (build with -c release).",
        subcommands: [BenchIngestCommand.self, BenchQueryCommand.self, BenchProxyCommand.self, BenchStreamCommand.self, BenchAlertsCommand.self,
                      BenchRetentionCommand.self, BenchMergeCommand.self])
}

/// `errwatch bench ingest`.
struct BenchIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Writes outcomes through the batch writer and the same error rows through bare SQLite.",
        discussion: helpText("""
            Each run writes --outcomes outcomes (spread over the last hour, realistic dimensions)
            through errwatch's batch writer into a fresh database file, then inserts the identical
            error rows into another fresh file with a bare sqlite3 prepared-statement loop: same
            schema and indexes, same pragmas, one transaction per writer batch. It prints the
            medians over --runs runs and the ratio of errwatch's error-row rate to the baseline's.

            Example:
              swift run -c release errwatch bench ingest
            """))

    @Option(help: "Outcomes per run.")
    var outcomes = 1_000_000
    @Option(name: .customLong("error-share"), help: "Shares of errors to run, as a comma list of fractions.")
    var errorShares = "0.1,1.0"
    @Option(help: "Runs per share; medians are printed.")
    var runs = 3

    func run() async throws {
        let context = CommandContext.current
        let shares = try errorShares.split(separator: ",").map { text -> Double in
            guard let share = Double(text.trimmingCharacters(in: .whitespaces)), share > 0, share <= 1 else {
                throw ValidationError("Invalid --error-share '\(text)'; give fractions from 0 (excluded) to 1, such as 0.1,1.0.")
            }
            return share
        }
        guard outcomes >= 1_000, runs >= 1 else { throw ValidationError("Give --outcomes of at least 1000 and --runs of at least 1.") }
        #if DEBUG
        context.warn("warning: this is a debug build; measure with 'swift run -c release errwatch bench ingest'.")
        #endif
        let report = try await IngestBenchmark(outcomes: outcomes, errorShares: shares, runs: runs)
            .run(now: context.now()) { context.warn($0) }
        report.render(.table, to: context.standardOutput)
    }
}
