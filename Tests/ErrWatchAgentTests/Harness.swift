import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
@testable import ErrWatchMock
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import GRDB
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Testing

/// How the agent reaches the fake upstream: plain HTTP, or TLS as every real provider (the
/// fake serves a certificate for `localhost` from a CA the test made; the agent trusts that CA
/// through `tls_ca_file`).
enum Transport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case plain, tls
    var testDescription: String { rawValue }
}

/// The agent in front of the fake upstream, both on real sockets on 127.0.0.1 port 0, with a
/// fresh database file; everything is stopped and removed when the body returns.
struct Harness {
    let agent: Agent
    /// The fake upstream behind the agent.
    let upstream: MockUpstream
    let agentURL: String
    let upstreamURL: String
    let client: HTTPClient
    let databasePath: String

    /// Runs `body` with a harness. `configure` adjusts the agent's configuration (the upstream
    /// is already set); `upstream` overrides where the agent forwards to.
    static func with(
        mock: MockUpstream.Configuration = quietMock(),
        transport: Transport = .plain,
        upstream: String? = nil,
        busyTimeout: Duration = .seconds(5),
        writer: BatchWriter.Configuration = .init(),
        configure: (inout AgentConfiguration) -> Void = { _ in },
        _ body: (Harness) async throws -> Void
    ) async throws {
        let directoryWorkspace = try Workspace()
        defer { directoryWorkspace.cleanup() }
        let directory = directoryWorkspace.url
        let databasePath = directory.appendingPathComponent("agent.db").path
        var logger = Logger(label: "test")
        logger.logLevel = .critical

        var mockConfiguration = mock
        mockConfiguration.port = 0
        var configuration = AgentConfiguration()
        configuration.port = 0
        if transport == .tls {
            let fixture = try await TLSFixture.shared()
            // The fixture's server certificate, unless the test brought its own.
            if mockConfiguration.tls == nil {
                mockConfiguration.tls = try MockUpstream.tlsContext(certificate: fixture.certificateFile, key: fixture.keyFile)
            }
            try configuration.set("tls_ca_file", to: fixture.caFile, origin: "test")
        }
        let fake = MockUpstream(configuration: mockConfiguration, logger: logger)
        try await withServer(logger: logger, { [fake.application(onServerRunning: $0)] }) { upstreamPort in
            let upstreamURL = transport == .tls ? "https://localhost:\(upstreamPort)/v1" : "http://127.0.0.1:\(upstreamPort)/v1"
            var configuration = configuration
            configuration.upstream = upstream ?? upstreamURL
            configure(&configuration)
            var options = Store.Options()
            options.busyTimeout = busyTimeout
            let store = try Store.open(path: databasePath, options: options)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Agent.clientConfiguration(for: configuration))
            let agent = Agent(configuration: configuration, store: store, client: client, writerConfiguration: writer, logger: logger)
            do {
                try await withServer(logger: logger, { agent.services(onServerRunning: $0) }) { port in
                    try await body(Harness(
                        agent: agent, upstream: fake, agentURL: "http://127.0.0.1:\(port)",
                        upstreamURL: upstreamURL, client: client, databasePath: databasePath))
                }
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }

    /// A fake upstream that never fails unless told to by a request's headers.
    static func quietMock() -> MockUpstream.Configuration {
        var configuration = MockUpstream.Configuration()
        configuration.mix = []
        return configuration
    }

    /// The response to one request, body collected.
    struct Reply {
        var status: Int
        var headers: NIOHTTP1.HTTPHeaders
        var body: String
    }

    /// Sends a request to the agent (`path` starts with `/`).
    /// `body` is sent as JSON; `rawBody` as it is, with only the headers given.
    func send(_ path: String, method: NIOHTTP1.HTTPMethod = .POST, headers: [(String, String)] = [("authorization", "Bearer sk-test-abcdefghijklmnop1234")],
              body: String? = nil, rawBody: String? = nil, timeout: TimeAmount = .seconds(30)) async throws -> Reply {
        var request = HTTPClientRequest(url: agentURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        } else if let rawBody {
            request.body = .bytes(ByteBuffer(string: rawBody))
        }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// Everything recorded so far, once the writer has written it.
    func recorded() async throws -> (errors: [CallOutcome], calls: Int64) {
        await agent.writer.flush()
        let filter = Filter(since: 0, until: Int64.max / 2)
        let errors = try agent.store.errors(filter, limit: 10_000).events.map(\.outcome)
        let calls = try agent.store.rates(filter, by: [])[0].calls
        return (errors, calls)
    }
}
