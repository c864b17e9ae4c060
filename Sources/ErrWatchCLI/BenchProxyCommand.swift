import ArgumentParser
import ErrWatchBench
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch bench proxy`.
struct BenchProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Measures what the recording proxy adds: wrk straight to a fake upstream, then through the agent.",
        discussion: helpText("""
            Starts `errwatch mock-upstream` (no errors, no latency) and `errwatch agent` in front of
            it, as separate processes, recording into a fresh database. Loads each with wrk (Debian
            package `wrk`) at the same concurrency and length — first the upstream directly, then
            through the agent — twice: flat out (each connection sends its next request as soon as
            the last is answered: the throughput), and paced (each connection waits --pace between
            requests, as apps do: the latency the agent adds, compared at the same offered load).
            Prints requests/s, p50 and p99 latency of each, what the agent adds, and its peak RSS.

            Flat out, both targets saturate the machine at different rates, so the difference of
            their latencies measures the saturation more than the agent; the paced runs are the
            added-latency figure.

            Example:
              swift run -c release errwatch bench proxy --connections 32 --duration 10s
            """))

    @Option(help: "Concurrent connections.")
    var connections = 32
    @Option(help: ArgumentHelp("Length of each load run.", valueName: "duration"))
    var duration = "10s"
    @Option(help: "wrk threads.")
    var threads = 2
    @Option(help: "Runs of each target, alternating; medians are printed.")
    var runs = 3
    @Option(help: ArgumentHelp("Pause between a connection's requests in the paced runs (whole milliseconds).", valueName: "duration"))
    var pace = "2ms"

    func run() async throws {
        let context = CommandContext.current
        let seconds = try parseDuration(duration, option: "--duration") / 1_000
        let paceMs = try parseDuration(pace, option: "--pace")
        guard seconds >= 1, (1...1_000).contains(connections), (1...16).contains(threads), (1...20).contains(runs), (1...1_000).contains(paceMs) else {
            throw ValidationError("Give --duration of at least 1s, --connections from 1 to 1000, --threads from 1 to 16, --runs from 1 to 20 and --pace from 1ms to 1s.")
        }
        guard let wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ValidationError("bench proxy needs wrk; install it with 'apt-get install wrk'.")
        }
        #if DEBUG
        context.warn("warning: this is a debug build; measure with 'swift run -c release errwatch bench proxy'.")
        #endif
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let benchmark = ProxyBenchmark(
            binary: binary, wrk: wrk, connections: connections, seconds: Int(seconds), threads: threads, runs: runs, paceMs: Int(paceMs))
        try benchmark.run { context.warn($0) }.write(to: context.standardOutput)
    }
}
