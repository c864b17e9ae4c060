import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchMock
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@Suite struct ProxyTests {
    static let guide: [(status: Int, type: String, code: String)] = [
        (400, "invalid_request_error", "invalid_parameter"), (401, "authentication_error", "invalid_api_key"),
        (403, "permission_error", "insufficient_permissions"), (404, "not_found_error", "model_not_found"),
        (429, "rate_limit_error", "rate_limit_exceeded"), (500, "internal_error", "internal_error"),
        (502, "upstream_error", "upstream_error"), (503, "service_unavailable", "service_unavailable"),
    ]

    @Test(arguments: Transport.allCases) func everyGuideStatusReachesTheClientUnchangedAndIsRecorded(transport: Transport) async throws {
        try await Harness.with(transport: transport) { harness in
            for row in Self.guide {
                let headers = [("authorization", "Bearer sk-test-abcdefghijklmnop1234"), ("x-mock-status", String(row.status)), ("x-stainless-retry-count", "2")]
                let viaAgent = try await harness.send("/v1/chat/completions?api-version=1", headers: headers, body: #"{"model":"gpt-4o","messages":[]}"#)
                // The same request straight to the upstream, for comparison.
                var direct = HTTPClientRequest(url: harness.upstreamURL + "/chat/completions")
                direct.method = .POST
                for (name, value) in headers { direct.headers.add(name: name, value: value) }
                direct.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o","messages":[]}"#))
                let response = try await harness.client.execute(direct, timeout: .seconds(30))
                let directBody = String(buffer: try await response.body.collect(upTo: 1 << 20))

                #expect(viaAgent.status == row.status)
                #expect(viaAgent.body == directBody)
                #expect(viaAgent.body.contains("\"type\":\"\(row.type)\""))
                #expect(viaAgent.headers.first(name: "content-type") == "application/json")
                #expect(viaAgent.headers.first(name: "x-request-id")?.hasPrefix("req_") == true)
                if row.status == 429 {
                    #expect(viaAgent.headers.first(name: "retry-after") == "1")
                    #expect(viaAgent.headers.first(name: "x-ratelimit-remaining-requests") == "0")
                }
            }
            let recorded = try await harness.recorded()
            #expect(recorded.calls == 8)
            let byStatus = Dictionary(uniqueKeysWithValues: recorded.errors.map { ($0.status ?? 0, $0) })
            for row in Self.guide {
                let outcome = try #require(byStatus[row.status])
                #expect(outcome.error?.type.rawValue == row.type)
                #expect(outcome.error?.code == row.code)
                #expect(outcome.error?.retryable == [429, 500, 502, 503].contains(row.status))
                #expect(outcome.model == "gpt-4o")
                #expect(outcome.endpoint == "chat/completions")
                #expect(outcome.attempt == 2)
                #expect(outcome.requestID?.hasPrefix("req_") == true)
                let headers = try #require(outcome.timeToHeadersMs)
                #expect(headers <= (outcome.latencyMs ?? 0))
            }
        }
    }

    @Test(arguments: Transport.allCases) func successesAreCountedWithTheirModelAndApp(transport: Transport) async throws {
        try await Harness.with(transport: transport) { harness in
            let chat = try await harness.send("/v1/chat/completions", headers: [("authorization", "Bearer sk-x"), ("x-errwatch-app", "billing")],
                                              body: #"{"model":"claude-sonnet-4","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(chat.status == 200)
            #expect(chat.body.contains("chat.completion"))
            let embeddings = try await harness.send("/v1/embeddings", body: #"{"model":"text-embedding-3-small","input":"x"}"#)
            #expect(embeddings.status == 200)
            let models = try await harness.send("/v1/models", method: .GET)
            #expect(models.status == 200 && models.body.contains("gpt-4o"))
            _ = try await harness.recorded()
            let rows = try harness.agent.store.rates(Filter(since: 0, until: Int64.max / 2), by: [.app, .endpoint, .model])
            #expect(Set(rows.map { $0.group.joined(separator: "|") }) == [
                "billing|chat/completions|claude-sonnet-4", "default|embeddings|text-embedding-3-small", "default|models|",
            ])
            #expect(rows.allSatisfy { $0.calls == 1 && $0.errors == 0 })
        }
    }

    @Test(arguments: Transport.allCases) func anUnknownRouteIsForwardedAndRecordedAsNotFound(transport: Transport) async throws {
        try await Harness.with(transport: transport) { harness in
            let reply = try await harness.send("/v1/files/file-abc123456789", method: .DELETE)
            #expect(reply.status == 404)
            #expect(reply.body == #"{"error":{"code":"unknown_url","message":"Unknown request URL: DELETE /v1/files/file-abc123456789.","type":"not_found_error"}}"#)
            let outcome = try #require(try await harness.recorded().errors.first)
            #expect(outcome.endpoint == "files/{id}" && outcome.error?.type == .notFound && outcome.error?.code == "unknown_url")
        }
    }

    @Test(arguments: Transport.allCases) func anAppThatClosesAfterEachCallIsAnsweredAndRecorded(transport: Transport) async throws {
        try await Harness.with(transport: transport) { harness in
            let port = Int(harness.agentURL.split(separator: ":").last!)!
            let body = #"{"model":"gpt-4o","messages":[]}"#
            let request = { (version: String, connection: String) in
                "POST /v1/chat/completions \(version)\r\nHost: x\r\nAuthorization: Bearer sk-test-abcdefghijklmnop1234\r\n" +
                    "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\(connection)\r\n\(body)"
            }
            // RawConnection.exchange returns only once the agent has closed the connection.
            let closing = try await RawConnection.exchange(port: port, request("HTTP/1.1", "Connection: close\r\n"))
            #expect(closing.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(closing.lowercased().contains("\r\nconnection: close\r\n"))
            #expect(closing.hasSuffix("\"total_tokens\":21}}"))
            // HTTP/1.0 closes unless asked not to.
            let old = try await RawConnection.exchange(port: port, request("HTTP/1.0", ""))
            #expect(old.hasPrefix("HTTP/1.0 200 OK\r\n"))
            #expect(old.hasSuffix("\"total_tokens\":21}}"))
            let recorded = try await harness.recorded()
            #expect(recorded.calls == 2 && recorded.errors.isEmpty)
        }
    }

    @Test(arguments: Transport.allCases) func anAppWaitingFor100ContinueIsToldAtOnce(transport: Transport) async throws {
        try await Harness.with(transport: transport) { harness in
            let port = Int(harness.agentURL.split(separator: ":").last!)!
            // A small body (the fast path) and one over 64 KiB (the router's path).
            for size in [100, 100_000] {
                let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":""# + String(repeating: "x", count: size) + #""}]}"#
                let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test-abcdefghijklmnop1234\r\n" +
                    "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
                let (interim, reply) = try await RawConnection.continueExchange(port: port, head: head, body: body)
                #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"), "size \(size): \(interim)")
                #expect(reply.contains("HTTP/1.1 200 OK\r\n") && reply.hasSuffix("\"total_tokens\":21}}"), "size \(size)")
            }
            let recorded = try await harness.recorded()
            #expect(recorded.calls == 2 && recorded.errors.isEmpty)
        }
    }

    @Test(arguments: Transport.allCases) func streamsArriveIncrementally(transport: Transport) async throws {
        var mock = Harness.quietMock()
        mock.streamChunks = 4
        mock.chunkDelayMs = 600
        try await Harness.with(mock: mock, transport: transport) { harness in
            var request = HTTPClientRequest(url: harness.agentURL + "/v1/chat/completions")
            request.method = .POST
            request.headers.add(name: "authorization", value: "Bearer sk-x")
            request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o","stream":true}"#))
            let started = ContinuousClock.now
            let response = try await harness.client.execute(request, timeout: .seconds(30))
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            var firstChunk: String?
            var chunks = 0
            var text = ""
            for try await chunk in response.body {
                if firstChunk == nil { firstChunk = String(buffer: chunk) }
                chunks += 1
                text += String(buffer: chunk)
            }
            // The opening role chunk and four events 600 ms apart, then [DONE]: a proxy that held the stream would hand
            // over the first event with the last. Asserted on what arrived, not on when, so a
            // machine loaded by the rest of the suite cannot fail it.
            let first = try #require(firstChunk)
            #expect(first.contains(#""role":"assistant""#) && !first.contains("token3 ") && !first.contains("[DONE]"))
            #expect(chunks >= 2)
            #expect(started.duration(to: .now) >= .milliseconds(1_800))
            #expect(text.hasSuffix("data: [DONE]\n\n"))
            let recorded = try await harness.recorded()
            #expect(recorded.calls == 1 && recorded.errors.isEmpty)
        }
    }

    @Test(arguments: Transport.allCases) func anErrorInsideAStreamIsRecordedAsThatError(transport: Transport) async throws {
        try await Harness.with(transport: transport) { harness in
            let reply = try await harness.send("/v1/chat/completions", headers: [("authorization", "Bearer sk-x"), ("x-mock-stream-error", "true")],
                                               body: #"{"model":"gpt-4o","stream":true}"#)
            #expect(reply.status == 200)
            #expect(reply.body.contains("\"error\""))
            let outcome = try #require(try await harness.recorded().errors.first)
            #expect(outcome.status == 200)
            #expect(outcome.streamed)
            #expect(outcome.error?.type == .upstream)
            #expect(outcome.error?.message == "The upstream model failed mid-stream.")
        }
    }

    @Test(arguments: Transport.allCases) func aStreamCutShortIsRecordedAsAnError(transport: Transport) async throws {
        try await Harness.with(transport: transport) { harness in
            do {
                _ = try await harness.send("/v1/chat/completions", headers: [("authorization", "Bearer sk-x"), ("x-mock-cut", "true")],
                                           body: #"{"model":"gpt-4o","stream":true}"#)
            } catch {
                // The client sees the connection end early; either way the outcome is what counts.
            }
            let outcome = try #require(try await harness.recorded().errors.first)
            #expect(outcome.error?.code == "stream_interrupted")
            #expect(outcome.error?.type == .upstream)
        }
    }

    @Test(arguments: Transport.allCases) func anUnreachableUpstreamIs502AndRecordedAsAConnectionError(transport: Transport) async throws {
        let closed = try ClosedPort()
        defer { withExtendedLifetime(closed) {} }
        let upstream = transport == .tls ? "https://localhost:\(closed.port)/v1" : "http://127.0.0.1:\(closed.port)/v1"
        try await Harness.with(transport: transport, upstream: upstream) { harness in
            let started = ContinuousClock.now
            let reply = try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o"}"#)
            #expect(started.duration(to: .now) < .seconds(5), "a refused connection is reported at once, not after the 10 s connect timeout")
            #expect(reply.status == 502)
            #expect(reply.body.contains(#""type":"upstream_error""#))
            #expect(reply.body.contains(#""code":"upstream_connect_failed""#))
            let outcome = try #require(try await harness.recorded().errors.first)
            #expect(outcome.status == nil)
            #expect(outcome.error?.type == .connection)
            #expect(outcome.model == "gpt-4o")
        }
    }

    @Test(arguments: Transport.allCases) func aSlowUpstreamIs504AndRecordedAsATimeout(transport: Transport) async throws {
        try await Harness.with(transport: transport, configure: { $0.timeoutMs = 200 }) { harness in
            let reply = try await harness.send("/v1/chat/completions", headers: [("authorization", "Bearer sk-x"), ("x-mock-latency-ms", "700")],
                                               body: #"{"model":"gpt-4o"}"#)
            #expect(reply.status == 504)
            #expect(reply.body.contains(#""type":"timeout_error""#))
            let outcome = try #require(try await harness.recorded().errors.first)
            #expect(outcome.error?.type == .timeout)
            #expect(outcome.status == nil)
        }
    }

    @Test(arguments: Transport.allCases) func aBodyOverTheLimitIs413AndNeverForwarded(transport: Transport) async throws {
        try await Harness.with(transport: transport, configure: { $0.maxRequestBody = 1_000 }) { harness in
            let big = #"{"model":"gpt-4o","input":""# + String(repeating: "x", count: 2_000) + #""}"#
            let reply = try await harness.send("/v1/embeddings", body: big)
            #expect(reply.status == 413)
            #expect(reply.body.contains(#""type":"request_too_large""#))
            let outcome = try #require(try await harness.recorded().errors.first)
            #expect(outcome.status == 413)
        }
    }

    @Test(arguments: Transport.allCases) func theAPIKeyNeverReachesTheDatabaseFile(transport: Transport) async throws {
        let key = "sk-proj-SECRETSECRETSECRET9876"
        var databasePath = ""
        try await Harness.with(transport: transport) { harness in
            databasePath = harness.databasePath
            for status in ["401", "429", "200"] {
                _ = try await harness.send("/v1/chat/completions", headers: [("authorization", "Bearer \(key)"), ("x-mock-status", status)],
                                           body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"my key is \#(key)"}]}"#)
            }
            _ = try await harness.recorded()
            try await harness.agent.store.writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            for suffix in ["", "-wal"] {
                let bytes = (try? Data(contentsOf: URL(fileURLWithPath: databasePath + suffix))) ?? Data()
                #expect(bytes.range(of: Data("SECRETSECRET".utf8)) == nil, "key found in \(databasePath + suffix)")
            }
        }
    }
}

/// Finds a local port with nothing listening on it: binds port 0, notes the port, closes.
/// A port nothing listens on, which nothing else can take while this lives: a socket bound to
/// it and never listening, so a connection is refused at once. (Bound, noted and closed, the
/// port was once handed to another suite's fake upstream, which then answered.)
final class ClosedPort {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard descriptor >= 0, bound else {
            close(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

@Suite struct RecordingFailureTests {
    @Test(arguments: Transport.allCases) func trafficFlowsWhileTheDatabaseIsLockedAndTheLossIsCounted(transport: Transport) async throws {
        // The writer retries a failed write for over 10 s: long enough to see that requests do
        // not wait for it, whatever the machine's load (4 s was once not enough under the full
        // suite's load).
        var writer = BatchWriter.Configuration()
        writer.retryDelays = [.seconds(5), .seconds(5)]
        try await Harness.with(transport: transport, busyTimeout: .milliseconds(100), writer: writer) { harness in
            let holder = try DatabaseHolder(path: harness.databasePath)
            for _ in 0..<20 {
                let reply = try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o"}"#)
                #expect(reply.status == 200)
            }
            // Twenty answers before the writer got any batch written or given up (it cannot
            // for 10 s): no request waited for its outcome to be recorded.
            let during = harness.agent.writer.statistics
            #expect(during.written == 0 && during.droppedWriteFailed == 0)
            await harness.agent.writer.flush()
            let lost = harness.agent.writer.statistics
            #expect(lost.droppedWriteFailed == 20 && lost.written == 0)
            holder.release()
            // Recording resumes by itself once the lock is gone.
            _ = try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o"}"#)
            await harness.agent.writer.flush()
            #expect(harness.agent.writer.statistics.written == 1)
        }
    }
}

extension RecordingFailureTests {
    /// SQLite's own read-only mode on the writer's connection (`query_only`): every write fails
    /// as on a read-only file, traffic flows, the losses are counted, and recording resumes by
    /// itself once the database takes writes again.
    @Test(arguments: Transport.allCases) func aReadOnlyDatabaseStopsNothingAndRecordingResumes(transport: Transport) async throws {
        var writer = BatchWriter.Configuration()
        writer.retryDelays = [.milliseconds(10)]
        try await Harness.with(transport: transport, writer: writer) { harness in
            try await harness.agent.store.writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = ON") }
            for _ in 0..<20 {
                #expect(try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o"}"#).status == 200)
            }
            await harness.agent.writer.flush()
            #expect(harness.agent.writer.statistics.droppedWriteFailed == 20)
            #expect(try await harness.send("/readyz", method: .GET).status == 503)
            // Every poller is told, not only the first to ask after the drops.
            #expect(try await harness.send("/readyz", method: .GET).status == 503)
            let metrics = try await harness.send("/metrics", method: .GET).body
            #expect(metrics.contains("errwatch_writer_dropped_total 20"))
            try await harness.agent.store.writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = OFF") }
            _ = try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o"}"#)
            await harness.agent.writer.flush()
            #expect(harness.agent.writer.statistics.written == 1)
        }
    }
}

/// Every call is recorded with the provider of its upstream and the agent's host name.
@Suite struct ProviderHostRecordingTests {
    static let key = [("authorization", "Bearer sk-test-abcdefghijklmnop1234")]

    @Test(arguments: Transport.allCases) func proxiedAndIngestedCallsCarryProviderAndHost(transport: Transport) async throws {
        try await Harness.with(transport: transport, configure: { $0.hostName = "edge-7" }) { harness in
            let failed = try await harness.send("/v1/chat/completions", headers: Self.key + [("x-mock-status", "429")], body: #"{"model":"gpt-4o","messages":[]}"#)
            #expect(failed.status == 429)
            let ingested = try await harness.send("/api/v1/events", body: """
                {"ts": \(Timestamp.now()), "status": 500, "type": "internal_error", "message": "boom", "provider": "anthropic", "host": "laptop"}
                """)
            #expect(ingested.status == 202)
            let errors = try await harness.recorded().errors.sorted { $0.host < $1.host }
            // The upstream's provider comes from its host (here a loopback address, its own name).
            let upstreamHost = transport == .tls ? "localhost" : "127.0.0.1"
            #expect(errors.map { "\($0.host) \($0.provider)" } == ["edge-7 \(upstreamHost)", "laptop anthropic"])
        }
        try await Harness.with(transport: transport, configure: { $0.provider = "openai" }) { harness in
            _ = try await harness.send("/v1/chat/completions", headers: Self.key + [("x-mock-status", "503")], body: #"{"model":"gpt-4o","messages":[]}"#)
            let errors = try await harness.recorded().errors
            #expect(errors.map(\.provider) == ["openai"])
            #expect(errors.map(\.host) == [Store.machineHostName])
        }
    }
}

/// One agent fronting several upstreams, each under its own path prefix.
@Suite struct SeveralUpstreamsTests {
    @Test(arguments: Transport.allCases) func eachPrefixGoesToItsUpstreamAndIsRecordedUnderIt(transport: Transport) async throws {
        try await Harness.with(transport: transport, configure: { configuration in
            // The fake upstream stands for a second provider too, reached under /claude.
            configuration.upstreams = [Upstream(name: "claude", url: configuration.upstream, provider: "anthropic", prefix: "/claude")]
        }) { harness in
            let key = ProviderHostRecordingTests.key
            let plain = try await harness.send("/v1/chat/completions", headers: key + [("x-mock-status", "429")], body: #"{"model":"gpt-4o","messages":[]}"#)
            let prefixed = try await harness.send("/claude/v1/chat/completions?x=1", headers: key + [("x-mock-status", "503")], body: #"{"model":"claude-sonnet-4","messages":[]}"#)
            let fine = try await harness.send("/claude/v1/chat/completions", headers: key, body: #"{"model":"claude-sonnet-4","messages":[]}"#)
            let streamed = try await harness.send("/claude/v1/chat/completions", headers: key, body: #"{"model":"claude-sonnet-4","stream":true,"messages":[]}"#)
            #expect([plain.status, prefixed.status, fine.status, streamed.status] == [Int](arrayLiteral: 429, 503, 200, 200))
            #expect(streamed.body.contains("data: [DONE]"))
            // A prefix no upstream has is not proxied, and the prefix alone is not an escape.
            let unknown = try await harness.send("/nobody/v1/chat/completions", headers: key, body: #"{"model":"x","messages":[]}"#)
            #expect(unknown.status == 404)
            let climbing = try await harness.send("/claude/v1/../../v1/models", method: .GET, headers: key)
            #expect(climbing.status == 400)

            let recorded = try await harness.recorded()
            #expect(recorded.calls == 4)
            #expect(recorded.errors.map { "\($0.upstream) \($0.provider) \($0.model) \($0.status ?? 0)" }.sorted()
                    == ["claude anthropic claude-sonnet-4 503", "default \(transport == .tls ? "localhost" : "127.0.0.1") gpt-4o 429"])
            let rates = try harness.agent.store.rates(Filter(since: 0, until: Int64.max / 2), by: [.upstream, .endpoint])
            #expect(rates.map { "\($0.group) \($0.counts.calls) \($0.counts.errors)" }.sorted()
                    == [#"["claude", "chat/completions"] 3 1"#, #"["default", "chat/completions"] 1 1"#])
        }
    }
}
