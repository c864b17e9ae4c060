@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The smaller attacks on the proxy: each is refused or neutralised, and none reaches the upstream.
@Suite struct ProxyHardeningTests {
    static func port(_ harness: Harness) -> Int { Int(harness.agentURL.split(separator: ":").last!)! }

    @Test func anUpstreamPasswordIsShownNowhereAndTheFailureIsOneSentence() async throws {
        // Port 1 refuses connections.
        try await Harness.with(upstream: "http://user:hunter2-secret@127.0.0.1:1/v1") { harness in
            let reply = try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o"}"#)
            #expect(reply.status == 502)
            #expect(!reply.body.contains("hunter2"))
            #expect(reply.body.contains("http://user:***@127.0.0.1:1/v1: the connection was refused."), "\(reply.body)")
            #expect(!reply.body.contains("SingleConnectionFailure") && !reply.body.contains("connection reset"))
            let recorded = try await harness.recorded()
            #expect(recorded.errors.count == 1)
            #expect(recorded.errors.allSatisfy { !($0.error?.message.contains("hunter2") ?? true) })
        }
        #expect(AgentConfiguration.shown("https://key:s3cret@api.example/v1") == "https://key:***@api.example/v1")
        #expect(AgentConfiguration.shown("https://api.example/v1?x=a@b") == "https://api.example/v1?x=a@b")
    }

    @Test(arguments: ["//v1/models", "/v1//models", "/v1/%2e%2e/admin", "/v1/%252e%252e/admin", "/v1/files%2f..%2fadmin",
                      "/v1/..%5cadmin", "/v1/a\\..\\admin", "/v1/%25252e%25252e/x"])
    func pathsThatReadDifferentlyOnEachHopAreRefused(path: String) async throws {
        try await Harness.with { harness in
            let reply = try await RawConnection.exchange(port: Self.port(harness),
                "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-test-abcdefghijklmnop1234\r\nConnection: close\r\n\r\n")
            #expect(reply.hasPrefix("HTTP/1.1 400"), "\(path): \(reply.prefix(200))")
            #expect(reply.contains(#""code":"invalid_path""#))
            #expect(try await harness.recorded().calls == 0, "\(path) reached the upstream")
        }
    }

    @Test func aGrepLongerThanTheLimitIsA400NamingIt() async throws {
        try await Harness.with { harness in
            let reply = try await harness.send("/api/v1/errors?since=1h&grep=" + String(repeating: "x", count: 60_000), method: .GET)
            #expect(reply.status == 400)
            #expect(reply.body.contains("at most \(FilterParameters.maxGrepBytes)"))
        }
    }

    @Test(arguments: Transport.allCases) func headersNamedInConnectionAreNotForwarded(transport: Transport) async throws {
        try await Harness.with(transport: transport) { harness in
            // The fake fails a call that carries x-mock-status; named in Connection, it must not arrive.
            for path in ["/v1/chat/completions", "/v1/chat/completions?large"] {
                let body = path.hasSuffix("large") ? #"{"model":"gpt-4o","pad":""# + String(repeating: "x", count: 70_000) + #""}"# : #"{"model":"gpt-4o"}"#
                let reply = try await harness.send(path, headers: [
                    ("authorization", "Bearer sk-test-abcdefghijklmnop1234"), ("connection", "keep-alive, X-Mock-Status"), ("x-mock-status", "429"),
                ], body: body)
                #expect(reply.status == 200, "\(path): the header named in Connection was forwarded")
            }
        }
        #expect(ProxyHeaders.connectionOptions(["keep-alive, X-Secret", "close,te"]) == ["x-secret", "te"])
    }

    @Test(arguments: [
        ("CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n", "405"),
        ("CONNECT /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "405"),
        ("GET /v1/models HTTP/1.1\r\nAuthorization: Bearer sk-test-abcdefghijklmnop1234\r\n\r\n", "400"),
        ("GET /v1/models HTTP/1.1\r\nHost: a\r\nHost: b\r\nAuthorization: Bearer sk-test-abcdefghijklmnop1234\r\n\r\n", "400"),
        ("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"),
    ])
    func tunnelsAndAmbiguousHostsAreRefused(request: String, status: String) async throws {
        try await Harness.with { harness in
            let reply = try await RawConnection.exchange(port: Self.port(harness), request)
            #expect(reply.hasPrefix("HTTP/1.1 \(status)"), "\(reply.prefix(200))")
            // NIO's encoder sends no body at all in an answer to CONNECT; every other refusal has the unified one.
            if !request.hasPrefix("CONNECT") { #expect(reply.contains(#""error":{"#)) }
            #expect(try await harness.recorded().calls == 0)
        }
    }

    @Test(arguments: Transport.allCases) func continueIsSentOnlyToRequestsThatWillBeRead(transport: Transport) async throws {
        try await Harness.with(transport: transport, configure: {
            $0.authToken = "the-agents-own-token-123"
            $0.maxRequestBody = 1_000
        }) { harness in
            let port = Self.port(harness)
            let event = #"{"ts":"2026-11-26T00:00:00Z","status":200}"#
            func head(_ path: String, token: String, length: Int) -> String {
                "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(length)\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
            }
            // No token: the refusal is the answer, the body never invited.
            let (unauthorised, _) = try await RawConnection.continueExchange(port: port, head: head("/api/v1/events", token: "wrong", length: event.utf8.count), body: event)
            #expect(unauthorised.hasPrefix("HTTP/1.1 401"), "\(unauthorised.prefix(100))")
            // Too large for the proxy: 413 at once.
            let (large, _) = try await RawConnection.continueExchange(port: port, head: head("/v1/chat/completions", token: "sk-x", length: 5_000), body: "")
            #expect(large.hasPrefix("HTTP/1.1 413"), "\(large.prefix(100))")
            // No such route: 404 at once.
            let (unknown, _) = try await RawConnection.continueExchange(port: port, head: head("/nothing", token: "x", length: 10), body: "")
            #expect(unknown.hasPrefix("HTTP/1.1 404"), "\(unknown.prefix(100))")
            // All in order: invited.
            let (invited, reply) = try await RawConnection.continueExchange(
                port: port, head: head("/api/v1/events", token: "the-agents-own-token-123", length: event.utf8.count), body: event)
            #expect(invited.hasPrefix("HTTP/1.1 100 Continue"))
            #expect(reply.contains("HTTP/1.1 202"))
        }
    }
}
