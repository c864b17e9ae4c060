@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchTestKit
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Hostile connection behaviour, on real sockets against the in-process agent: pipelined
/// requests answered in order whichever path answers each, and slow clients timed out.
@Suite struct PipeliningTests {
    /// A request on the router's path and one on the proxy's fast path, each with a marker of
    /// its answer.
    static let router = (request: "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", marker: #""status": "ok""#)
    static let fast = (request: "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-test-abcdefghijklmnop1234\r\n",
                       marker: #""object":"list""#)
    static let fastPost = (request: "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-test-abcdefghijklmnop1234\r\nContent-Type: application/json\r\nContent-Length: 17\r\n",
                           body: #"{"model":"gpt-4"}"#, marker: #""object":"chat.completion""#)

    static func request(_ part: (request: String, marker: String), close: Bool) -> String {
        part.request + (close ? "Connection: close\r\n" : "") + "\r\n"
    }

    @Test(arguments: [("router", "fast"), ("fast", "router"), ("fast", "fast"), ("router", "router"), ("post", "router"), ("router", "post")],
          Transport.allCases)
    func pipelinedRequestsAreAnsweredInOrder(pair: (first: String, second: String), transport: Transport) async throws {
        let (first, second) = pair
        func pick(_ name: String, close: Bool) -> (text: String, marker: String) {
            switch name {
            case "router": (Self.request(Self.router, close: close), Self.router.marker)
            case "fast": (Self.request(Self.fast, close: close), Self.fast.marker)
            default: (Self.fastPost.request + (close ? "Connection: close\r\n" : "") + "\r\n" + Self.fastPost.body, Self.fastPost.marker)
            }
        }
        try await Harness.with(transport: transport) { harness in
            let port = Int(harness.agentURL.split(separator: ":").last!)!
            let (a, b) = (pick(first, close: false), pick(second, close: true))
            // Both requests in one write, as a pipelining client sends them.
            let reply = try await RawConnection.exchange(port: port, a.text + b.text)
            let answers = reply.components(separatedBy: "HTTP/1.1 ").filter { !$0.isEmpty }
            #expect(answers.count == 2, "expected two answers, got: \(reply.prefix(600))")
            #expect(answers.first?.hasPrefix("200") == true && answers.last?.hasPrefix("200") == true)
            #expect(answers.first?.contains(a.marker) == true, "first answer is not the first request's: \(answers.first?.prefix(300) ?? "")")
            #expect(answers.last?.contains(b.marker) == true, "second answer is not the second request's: \(answers.last?.prefix(300) ?? "")")
            // Each proxied call recorded once, as a success: nothing false from the pipelining.
            let recorded = try await harness.recorded()
            #expect(recorded.errors.isEmpty, "recorded errors: \(recorded.errors.map { $0.error?.code ?? "" })")
            #expect(recorded.calls == Int64([first, second].filter { $0 != "router" }.count))
        }
    }
}

@Suite struct SlowClientTests {
    @Test func aStalledHeadIsClosedByTheHeaderTimeout() async throws {
        try await Harness.with(configure: {
            $0.headerTimeoutMs = 300
            $0.idleTimeoutMs = 120_000
        }) { harness in
            let port = Int(harness.agentURL.split(separator: ":").last!)!
            let started = ContinuousClock.now
            // Half a head, then nothing: closed (the exchange returns) long before the idle
            // timeout could have done it.
            let halfHead = try await RawConnection.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: 127.")
            #expect(halfHead.isEmpty)
            #expect(ContinuousClock.now - started < .seconds(60))
            #expect(harness.agent.clientConnections.timedOut == 1)
        }
    }

    @Test func anIdleKeepAliveConnectionIsClosedByTheIdleTimeout() async throws {
        try await Harness.with(configure: { $0.idleTimeoutMs = 500 }) { harness in
            let port = Int(harness.agentURL.split(separator: ":").last!)!
            let started = ContinuousClock.now
            // A complete keep-alive request: answered, then the connection left idle is closed.
            let answered = try await RawConnection.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(answered.hasPrefix("HTTP/1.1 200"))
            #expect(ContinuousClock.now - started >= .milliseconds(500))
            #expect(harness.agent.clientConnections.timedOut == 1)
        }
    }

    @Test func aStalledBodyIsClosedAfterTheBodyTimeout() async throws {
        try await Harness.with(configure: { $0.bodyTimeoutMs = 300 }) { harness in
            let port = Int(harness.agentURL.split(separator: ":").last!)!
            let started = ContinuousClock.now
            // 17 bytes declared, 5 sent: the body stalls.
            let reply = try await RawConnection.exchange(port: port, Self.stalledBody)
            #expect(!reply.contains("200 OK"))
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(harness.agent.clientConnections.timedOut >= 1)
        }
    }

    static let stalledBody = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-test-abcdefghijklmnop1234\r\nContent-Length: 17\r\n\r\n{\"mod"

    @Test func overTheCapTheLongestStalledConnectionMakesRoom() async throws {
        try await Harness.with(configure: {
            $0.maxConnections = 8
            $0.headerTimeoutMs = 60_000
        }) { harness in
            let port = Int(harness.agentURL.split(separator: ":").last!)!
            // Eight connections that each sent half a head fill the cap.
            let stalled = try (0..<8).map { _ in try RawConnection(port: port) }
            for connection in stalled { connection.send("GET /healthz HTTP/1.1\r\nHo") }
            try await Task.sleep(for: .milliseconds(200))
            // A real call still gets through, and so does /healthz.
            #expect(try await harness.send("/healthz", method: .GET).status == 200)
            #expect(try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o"}"#).status == 200)
            #expect(harness.agent.clientConnections.evicted >= 1)
            #expect(harness.agent.clientConnections.count <= 8)
            // The stalled one that made room (the client reuses its connection for both calls) was closed.
            let closed = stalled.filter { $0.isClosedByPeer() }
            #expect(closed.count >= 1)
            stalled.forEach { $0.close() }
        }
    }
}
