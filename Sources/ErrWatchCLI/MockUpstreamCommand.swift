import ArgumentParser
import ErrWatchAgent
import ErrWatchCore
import ErrWatchMock
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `errwatch mock-upstream`: the fake API.
struct MockUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-upstream",
        abstract: "Runs a fake OpenAI-compatible API that fails like a real one.",
        discussion: helpText("""
            Serves POST /v1/chat/completions (JSON, and server-sent events with "stream": true),
            POST /v1/embeddings and GET /v1/models. The share of each error status is set with
            --mix; errors carry the guide's unified body, or a real provider's with --dialect,
            and 429s carry retry-after and x-ratelimit-* headers. Requests without an
            Authorization header get 401.

            With --tls-cert and --tls-key (PEM files) it serves HTTPS, as real providers do.

            Examples:
              errwatch mock-upstream --mix 429=5%,502=2% --latency 20ms..200ms
              errwatch agent --upstream http://127.0.0.1:8788/v1
            """))

    @Option(help: ArgumentHelp("Address to listen on.", valueName: "host:port"))
    var listen = "127.0.0.1:8788"
    @Option(help: ArgumentHelp("Error statuses and their shares.", valueName: "status=share,…"))
    var mix = "429=5%,500=1%,502=2%,503=1%"
    @Option(help: ArgumentHelp("Latency before the response: a duration or a range such as 20ms..200ms.", valueName: "duration"))
    var latency = "0s"
    @Option(name: .customLong("stream-errors"), help: ArgumentHelp("Share of streams that end in an error event.", valueName: "share"))
    var streamErrors = "0%"
    @Option(help: "Seed for the random choices.")
    var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Whose error bodies to answer with: guide, openai, anthropic, gemini, azure or vllm.", valueName: "provider"))
    var dialect = "guide"
    @Option(name: .customLong("stream-chunks"), help: ArgumentHelp("Content chunks in each streamed answer.", valueName: "count"))
    var streamChunks = 8
    @Option(name: .customLong("chunk-interval"), help: ArgumentHelp("Pause between a stream's chunks.", valueName: "duration"))
    var chunkInterval = "0s"
    @Option(name: .customLong("first-token"), help: ArgumentHelp("Pause between a stream's opening role chunk and its first content.", valueName: "duration"))
    var firstToken = "0s"
    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("Serve HTTPS with this PEM certificate (chain).", valueName: "file"))
    var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: ArgumentHelp("The certificate's PEM private key.", valueName: "file"))
    var tlsKey: String?

    /// The fake's configuration from the flags.
    func makeConfiguration() throws -> MockUpstream.Configuration {
        var configuration = MockUpstream.Configuration()
        do throws(ErrWatchError) {
            configuration.mix = try MockUpstream.Configuration.parseMix(mix)
            let bounds = latency.components(separatedBy: "..")
            guard bounds.count <= 2, let low = DurationText.milliseconds(bounds[0]),
                  let high = bounds.count == 2 ? DurationText.milliseconds(bounds[1]) : low, low <= high
            else {
                throw ErrWatchError(.invalidArgument, "Invalid --latency '\(latency)'; give a duration such as 50ms or a range such as 20ms..200ms.")
            }
            configuration.latencyMs = low...high
            guard let share = Share.parse(streamErrors) else {
                throw ErrWatchError(.invalidArgument, "Invalid --stream-errors '\(streamErrors)'; give a share such as 2%.")
            }
            configuration.streamErrorShare = share
            guard (1...10_000).contains(streamChunks) else {
                throw ErrWatchError(.invalidArgument, "Invalid --stream-chunks \(streamChunks); give 1 to 10000.")
            }
            configuration.streamChunks = streamChunks
            guard let interval = DurationText.milliseconds(chunkInterval), interval <= 60_000 else {
                throw ErrWatchError(.invalidArgument, "Invalid --chunk-interval '\(chunkInterval)'; give a duration such as 50ms (at most 60s).")
            }
            configuration.chunkDelayMs = interval
            guard let firstTokenDelay = DurationText.milliseconds(firstToken), firstTokenDelay <= 600_000 else {
                throw ErrWatchError(.invalidArgument, "Invalid --first-token '\(firstToken)'; give a duration such as 800ms (at most 10m).")
            }
            configuration.firstTokenDelayMs = firstTokenDelay
            var address = AgentConfiguration()
            try address.set("listen", to: listen, origin: "--listen")
            configuration.host = address.host
            configuration.port = address.port
            switch (tlsCertificate, tlsKey) {
            case (nil, nil): break
            case (let certificate?, let key?): configuration.tls = try MockUpstream.tlsContext(certificate: certificate, key: key)
            default: throw ErrWatchError(.invalidArgument, "Give --tls-cert and --tls-key together, or neither.")
            }
        } catch {
            throw ValidationError(error)
        }
        guard let dialect = MockUpstream.Dialect(rawValue: dialect.lowercased()) else {
            throw ValidationError("Unknown --dialect '\(dialect)'; give one of: \(MockUpstream.Dialect.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        configuration.dialect = dialect
        configuration.seed = seed
        return configuration
    }

    func run() async throws {
        let configuration = try makeConfiguration()
        let logger = Logger(label: "errwatch.mock-upstream")
        let mock = MockUpstream(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [mock.application { port in
                    logger.info("mock upstream listening on \(configuration.tls == nil ? "http" : "https")://\(configuration.host):\(port)/v1")
                }],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
