import AsyncHTTPClient
import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// errwatch's own `/api/v1` through Hummingbird's router test client: no socket, since a
/// socket adds nothing to how a query parameter is read or a bad request is answered. (What
/// depends on the connection — the proxy, timeouts, pipelining — is tested over real sockets.)
struct RouterTests {
    /// The router of an agent over a fresh database, with `body` given Hummingbird's test client.
    func withRouter(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let store = try Store.open(path: workspace.path("router.db"))
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let agent = Agent(configuration: AgentConfiguration(), store: store, client: client, logger: logger)
        do {
            try await Application(router: agent.buildRouter(), logger: logger).test(.router, body)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// Every bad query parameter gets the unified error body naming it, with status 400.
    @Test(arguments: [
        ("/api/v1/rates?window=soon", "Invalid window 'soon'; write it like 30s, 5m, 1h, 7d or 1h30m."),
        ("/api/v1/trend?by=region", "Unknown dimension 'region'"),
        ("/api/v1/errors?typo=1", "Unknown query parameter 'typo'"),
        ("/api/v1/errors?status=6xx", "Invalid status '6xx'; give HTTP statuses such as 429 or 5xx, or 0 for no response."),
    ])
    func aBadParameterIsA400NamingIt(uri: String, message: String) async throws {
        try await withRouter { client in
            try await client.execute(uri: uri, method: .get, ) { response in
                #expect(response.status == .badRequest)
                let body = String(buffer: response.body)
                let error = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: [String: String]])["error"]
                #expect(error?["type"] == "invalid_request_error")
                #expect(error?["message"]?.contains(message) == true, "\(body)")
            }
        }
    }

    /// An event sent as a form (what a cross-site page can send) is refused, and nothing is taken.
    @Test func anEventThatIsNotJSONIsRefused() async throws {
        try await withRouter { client in
            try await client.execute(uri: "/api/v1/events", method: .post, headers: [.contentType: "text/plain"],
                                     body: ByteBuffer(string: #"{"ts":"2026-11-25T10:00:00Z","status":200}"#)) { response in
                #expect(response.status == .unsupportedMediaType)
                #expect(String(buffer: response.body).contains("\"error\""))
            }
        }
    }
}
