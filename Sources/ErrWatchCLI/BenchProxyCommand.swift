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
        abstract: "Measures the recording proxy against nginx: wrk straight to a fake upstream, through nginx, through the agent.",
        discussion: helpText("""
            Starts `errwatch mock-upstream` (no errors, no latency), nginx in front of it (Debian
            package `nginx`, with a generated configuration: keep-alive upstream connections,
            proxy_buffering off) and `errwatch agent` in front of it, as separate processes, the
            agent recording into a fresh database. Loads each with wrk (package `wrk`) at the same
            concurrency and length, the targets taking turns, twice: flat out (each connection
            sends its next request as soon as the last is answered: the throughput), and paced
            (each connection waits --pace between requests, as apps do: the latency a proxy adds,
            compared at the same offered load). Prints requests/s, p50 and p99 latency and each
            proxy's CPU per 1,000 requests (from /proc), the ratios against nginx, and memory.

            With --tls the upstream serves HTTPS with a certificate from a CA made for the run
            (package `openssl`); nginx and the agent both verify it, as they would a provider's.

            Example:
              swift run -c release errwatch bench proxy --tls --duration 10s
            """))

    @Option(help: "Concurrent connections.")
    var connections = 32
    @Option(help: ArgumentHelp("Length of each load run.", valueName: "duration"))
    var duration = "10s"
    @Option(help: ArgumentHelp("Pause between a connection's requests in the paced runs (whole milliseconds).", valueName: "duration"))
    var pace = "2ms"
    @OptionGroup var load: ProxyLoadOptions

    func run() async throws {
        let context = CommandContext.current
        let seconds = try parseDuration(duration, option: "--duration") / 1_000
        let paceMs = try parseDuration(pace, option: "--pace")
        guard seconds >= 1, (1...1_000).contains(connections), (1...1_000).contains(paceMs) else {
            throw ValidationError("Give --duration of at least 1s, --connections from 1 to 1000 and --pace from 1ms to 1s.")
        }
        let benchmark = try load.benchmark(command: "bench proxy", connections: connections, seconds: Int(seconds), paceMs: Int(paceMs))
        try benchmark.run { context.warn($0) }.write(to: context.standardOutput)
    }
}
