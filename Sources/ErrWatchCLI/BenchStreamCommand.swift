import ArgumentParser
import ErrWatchBench
import ErrWatchCore
import Foundation

/// `errwatch bench stream`.
struct BenchStreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Measures many concurrent streamed completions through nginx and through the agent.",
        discussion: helpText("""
            Real LLM traffic is many slow server-sent-event streams at once. The fake upstream
            answers every call with a stream of --chunks chunks --interval apart (and breaks
            --stream-errors of them with an error event); wrk keeps --streams connections busy,
            each a stream after another, straight to the upstream, through nginx (proxy_buffering
            off) and through the agent, the targets taking turns. Prints completed streams/s, p50
            and p99 of the whole-stream time, each proxy's CPU per 1,000 streams, memory, and what
            the agent recorded (every completed stream, the broken ones as errors).

            The descriptor limit (ulimit -n) must allow the streams twice over, plus the agent's.

            Example:
              swift run -c release errwatch bench stream --streams 2000 --chunks 20
            """))

    @Option(help: "Concurrent streams.")
    var streams = 2_000
    @Option(help: "Content chunks per stream.")
    var chunks = 20
    @Option(help: ArgumentHelp("Pause between a stream's chunks.", valueName: "duration"))
    var interval = "50ms"
    @Option(name: .customLong("stream-errors"), help: ArgumentHelp("Share of streams the upstream breaks with an error event.", valueName: "share"))
    var streamErrors = "1%"
    @Option(help: ArgumentHelp("Length of each load run.", valueName: "duration"))
    var duration = "20s"
    @OptionGroup var load: ProxyLoadOptions

    func run() async throws {
        let context = CommandContext.current
        let seconds = try parseDuration(duration, option: "--duration") / 1_000
        let intervalMs = try parseDuration(interval, option: "--interval")
        guard let share = Share.parse(streamErrors) else {
            throw ValidationError("Invalid --stream-errors '\(streamErrors)'; give a share such as 1%.")
        }
        guard seconds >= 1, (1...20_000).contains(streams), (1...10_000).contains(chunks), (0...60_000).contains(intervalMs) else {
            throw ValidationError("Give --duration of at least 1s, --streams from 1 to 20000, --chunks from 1 to 10000 and --interval up to 60s.")
        }
        let benchmark = try load.benchmark(
            command: "bench stream", connections: streams, seconds: Int(seconds), paceMs: 1,
            stream: .init(chunks: chunks, intervalMs: Int(intervalMs), errorShare: share))
        try benchmark.run { context.warn($0) }.write(to: context.standardOutput)
    }
}
