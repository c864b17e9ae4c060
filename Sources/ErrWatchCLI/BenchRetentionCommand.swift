import ArgumentParser
import ErrWatchBench
import ErrWatchCore
import ErrWatchReport
import Foundation

/// `errwatch bench retention`.
struct BenchRetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Measures the proxy's latency while retention deletes a day from a large database.",
        discussion: helpText("""
            Generates --rows error rows over --days days (as bench query does), starts the fake
            upstream and an agent recording into that file (its own retention off), and loads
            the agent with wrk (package `wrk`), each connection pausing --pace between
            requests, in --runs rounds: a run alone, then a run while `errwatch prune` deletes the
            oldest remaining day from the same file. It prints p50 and p99 of every run, the
            medians of each kind and the ratio of their p99s, the rows deleted, how long each
            prune took, and the file's size before and after.

            Example:
              swift run -c release errwatch bench retention --keep r.db
            """))

    @Option(help: "Error rows to generate.")
    var rows = 10_000_000
    @Option(help: "Days the rows span, ending now.")
    var days = 30
    @Option(help: ArgumentHelp("Length of each load run.", valueName: "duration"))
    var duration = "20s"
    @Option(help: "Concurrent connections.")
    var connections = 32
    @Option(help: ArgumentHelp("Pause between a connection's requests (whole milliseconds).", valueName: "duration"))
    var pace = "2ms"
    @Option(help: "Rounds of a run alone and a run while pruning (each prunes one more day).")
    var runs = 3
    @Option(help: ArgumentHelp("Keep the generated database at this path (reused when it exists; the prune changes it).", valueName: "path"))
    var keep: String?

    func run() async throws {
        let context = CommandContext.current
        let seconds = try parseDuration(duration, option: "--duration") / 1_000
        let paceMs = try parseDuration(pace, option: "--pace")
        guard rows >= 1_000, (1...20).contains(runs), days >= runs + 1, seconds >= 1, (1...10_000).contains(connections), paceMs >= 1 else {
            throw ValidationError("Give --rows of at least 1000, --runs from 1 to 20, --days of at least --runs + 1, --duration of at least 1s, --connections from 1 to 10000 and --pace of at least 1ms.")
        }
        let tools = try BenchTools(nginx: false, openssl: false, command: "bench retention")
        #if DEBUG
        context.warn("warning: this is a debug build; measure with 'swift run -c release errwatch bench retention'.")
        #endif
        let benchmark = RetentionBenchmark(binary: tools.binary, wrk: tools.wrk, rows: rows, days: days, seconds: Int(seconds),
                                           connections: connections, paceMs: Int(paceMs), keep: keep, runs: runs)
        try await benchmark.run(now: context.now()) { context.warn($0) }.render(.table, to: context.standardOutput)
    }
}
