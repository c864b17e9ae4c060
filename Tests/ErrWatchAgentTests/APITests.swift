import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
@testable import ErrWatchMock
import ErrWatchReport
import ErrWatchStore
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@Suite struct APITests {
    static let token = "test-token-0123456789abcdef"

    @Test func ingestTakesAnObjectAnArrayOrNDJSON() async throws {
        try await Harness.with { harness in
            let now = Timestamp.iso8601(Timestamp.now() - 60_000)
            let one = try await harness.send("/api/v1/events", body: #"{"ts":"\#(now)","status":200,"app":"a","model":"m1","count":5}"#)
            #expect(one.status == 202)
            #expect(one.body == "{\"accepted\":1,\"dropped\":0}\n")
            let array = try await harness.send("/api/v1/events", body: #"[{"ts":"\#(now)","status":429,"app":"a","model":"m1","type":"rate_limit_error"},{"ts":"\#(now)","status":200,"app":"a","model":"m1"}]"#)
            #expect(array.status == 202 && array.body.contains("\"accepted\":2"))
            let lines = try await harness.send("/api/v1/events", body: """
                {"ts":"\(now)","status":500,"app":"a","model":"m2","body":"{\\"error\\":{\\"type\\":\\"internal_error\\",\\"message\\":\\"boom\\"}}"}

                {"ts":"\(now)","status":200,"app":"a","model":"m2"}
                """)
            #expect(lines.status == 202 && lines.body.contains("\"accepted\":2"))
            let recorded = try await harness.recorded()
            #expect(recorded.calls == 9)
            #expect(recorded.errors.map { $0.error!.type } .sorted() == [.internal, .rateLimit])
        }
    }

    /// A range reaching before what retention kept says so in two headers, instead of passing
    /// for a quiet time; a range within what is kept says nothing.
    @Test func aQueryReachingBeforeRetentionsCutSaysSo() async throws {
        try await Harness.with { harness in
            let old = Timestamp.iso8601(Timestamp.now() - 10 * Timestamp.day)
            #expect(try await harness.send("/api/v1/events", body: #"{"ts":"\#(old)","status":429,"app":"a","model":"m","type":"rate_limit_error"}"#).status == 202)
            _ = try await harness.recorded()
            let cut = Store.retentionCut(Timestamp.now() - 2 * Timestamp.day)
            #expect(try harness.agent.store.deleteOlderThan(cut) > 0)
            let errors = try await harness.send("/api/v1/errors?since=30d", method: .GET)
            #expect(errors.status == 200)
            #expect(errors.headers["x-errwatch-pruned-before"] == [Timestamp.iso8601(cut)])
            #expect(errors.headers.first(name: "x-errwatch-retention-note")?.hasPrefix("error rows before ") == true)
            let rates = try await harness.send("/api/v1/rates?window=30d", method: .GET)
            #expect(rates.headers.first(name: "x-errwatch-retention-note")?.contains("(retain_rollups)") == true)
            let recent = try await harness.send("/api/v1/errors?since=1d", method: .GET)
            #expect(recent.status == 200 && recent.headers["x-errwatch-pruned-before"].isEmpty)
        }
    }

    @Test func oneBadItemRejectsTheRequestAndWritesNothing() async throws {
        try await Harness.with { harness in
            let now = Timestamp.iso8601(Timestamp.now())
            let mixed = try await harness.send("/api/v1/events", body: #"[{"ts":"\#(now)","status":200},{"ts":"\#(now)","status":"bad"}]"#)
            #expect(mixed.status == 400)
            #expect(mixed.body == #"{"error":{"code":"invalid_event","message":"Item 1: 'status' must be a whole number, got a string; nothing from this request was recorded.","type":"invalid_request_error"}}"#)
            let ndjson = try await harness.send("/api/v1/events", body: "{\"ts\":\"\(now)\",\"status\":200}\n{\"ts\":\"\(now)\"}\n")
            #expect(ndjson.status == 400)
            #expect(ndjson.body.contains("Line 2: missing required field 'status'"))
            let notJSON = try await harness.send("/api/v1/events", body: "hello")
            #expect(notJSON.status == 400 && notJSON.body.contains("Line 1: not valid JSON"))
            #expect(try await harness.recorded().calls == 0)
        }
    }

    @Test func anIngestBodyOverTheLimitIs413() async throws {
        try await Harness.with(configure: { $0.maxIngestBody = 100 }) { harness in
            let reply = try await harness.send("/api/v1/events", body: "[" + String(repeating: " ", count: 200) + "]")
            #expect(reply.status == 413)
            #expect(reply.body.contains(#""type":"request_too_large""#))
        }
    }

    @Test func queriesAnswerLikeTheCommandLine() async throws {
        try await Harness.with { harness in
            let base = Timestamp.now() - 30 * 60_000
            let events = (0..<4).map { index in
                #"{"ts":\#(base + Int64(index) * 60_000),"status":\#(index == 0 ? 503 : 200),"app":"a","model":"m\#(index % 2)","latency_ms":\#(100 * (index + 1))"#
                    + (index == 0 ? #","type":"service_unavailable""# : "")
                    + (index == 2 ? #","streamed":true,"time_to_first_token_ms":120,"chunks":12"# : "") + "}"
            }.joined(separator: "\n")
            _ = try await harness.send("/api/v1/events", body: events)
            await harness.agent.writer.flush()

            let errors = try await harness.send("/api/v1/errors?since=1h&type=service_unavailable", method: .GET)
            #expect(errors.status == 200)
            let parsed = try JSONSerialization.jsonObject(with: Data(errors.body.utf8)) as? [[String: Any]]
            #expect(parsed?.count == 1)
            #expect(parsed?.first?["status"] as? Int == 503)
            #expect(Set(parsed?.first?.keys.map { $0 } ?? []) == Set(Report.errorColumns))

            // Percentiles interpolated within their buckets: m0's latencies 100 ms (≤100) and
            // 300 ms (250–500) give p50 100, p95 250 + 0.9 × 250; its one stream's first token at
            // 120 ms (100–200) gives p50 150, p95 195. m1 streamed nothing: no first token.
            let rates = try await harness.send("/api/v1/rates?window=1h&by=model", method: .GET)
            #expect(rates.body == """
                [
                  {"model": "m0", "calls": 2, "errors": 1, "error_rate": 0.5, "p50_latency_ms": 100, "p95_latency_ms": 475, "streams": 1, "p50_first_token_ms": 150, "p95_first_token_ms": 195},
                  {"model": "m1", "calls": 2, "errors": 0, "error_rate": 0, "p50_latency_ms": 250, "p95_latency_ms": 475, "streams": 0, "p50_first_token_ms": null, "p95_first_token_ms": null}
                ]

                """)
            let trend = try await harness.send("/api/v1/trend?since=1h&bucket=30m", method: .GET)
            #expect(trend.status == 200 && trend.body.contains("\"direction\""))

            let page = try await harness.send("/api/v1/errors?limit=1&since=2h", method: .GET)
            #expect(page.headers.first(name: "x-errwatch-next-cursor") == nil)

            let bad = try await harness.send("/api/v1/rates?window=soon", method: .GET)
            #expect(bad.status == 400)
            #expect(bad.body == #"{"error":{"code":"invalid_parameter","message":"Invalid window 'soon'; write it like 30s, 5m, 1h, 7d or 1h30m.","type":"invalid_request_error"}}"#)
            let badBy = try await harness.send("/api/v1/trend?by=region", method: .GET)
            #expect(badBy.status == 400 && badBy.body.contains("Unknown dimension 'region'"))
            let unknown = try await harness.send("/api/v1/errors?typo=1", method: .GET)
            #expect(unknown.status == 400 && unknown.body.contains("Unknown query parameter 'typo'"))
        }
    }

    @Test func theAPIWantsTheTokenWhenOneIsSetAndTheProxyNever() async throws {
        try await Harness.with(configure: { $0.authToken = Self.token }) { harness in
            let none = try await harness.send("/api/v1/rates", method: .GET, headers: [])
            #expect(none.status == 401)
            #expect(none.body.contains(#""code":"missing_token""#) && none.body.contains(#""type":"authentication_error""#))
            let wrong = try await harness.send("/api/v1/rates", method: .GET, headers: [("authorization", "Bearer nope-nope-nope-nope")])
            #expect(wrong.status == 401 && wrong.body.contains(#""code":"invalid_token""#))
            let right = try await harness.send("/api/v1/rates", method: .GET, headers: [("authorization", "Bearer \(Self.token)")])
            #expect(right.status == 200)
            // The proxy forwards the app's own key and needs no token of errwatch's.
            let proxied = try await harness.send("/v1/models", method: .GET, headers: [("authorization", "Bearer sk-app-key-1234567890")])
            #expect(proxied.status == 200)
            let health = try await harness.send("/healthz", method: .GET, headers: [])
            #expect(health.status == 200)
        }
    }

    @Test func theAPIIsOpenWithoutAToken() async throws {
        try await Harness.with { harness in
            let reply = try await harness.send("/api/v1/rates", method: .GET, headers: [])
            #expect(reply.status == 200)
        }
    }

    @Test func readinessSaysWhetherTheDatabaseTakesWrites() async throws {
        try await Harness.with { harness in
            let ready = try await harness.send("/readyz", method: .GET, headers: [])
            #expect(ready.status == 200 && ready.body.contains("\"ready\""))
            // Another connection holds the write lock past the busy timeout.
            let holder = try DatabaseHolder(path: harness.databasePath)
            defer { holder.release() }
            let blocked = try await harness.send("/readyz", method: .GET, headers: [])
            #expect(blocked.status == 503)
            #expect(blocked.body.contains(#""code":"database_not_writable""#))
        }
    }

    @Test func aClientHangingUpMidStreamIsRecordedAs499() async throws {
        // A stream long enough (10 s) that the hang-up comes first even on a loaded machine;
        // with 20 chunks (2 s) a loaded run of the suite twice saw the stream finish first.
        var mock = Harness.quietMock()
        mock.streamChunks = 100
        mock.chunkDelayMs = 100
        var upstream: MockUpstream?
        try await Harness.with(mock: mock) { harness in
            upstream = harness.upstream
            var request = HTTPClientRequest(url: harness.agentURL + "/v1/chat/completions")
            request.method = .POST
            request.headers.add(name: "authorization", value: "Bearer sk-x")
            request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o","stream":true}"#))
            let task = Task {
                let response = try await harness.client.execute(request, timeout: .seconds(30))
                for try await _ in response.body { break }
            }
            try await task.value
            // The agent notices when its next write to the client fails, then hands the outcome over.
            await harness.agent.writer.waitUntilAccepted(1)
            let recorded = try #require(try await harness.recorded().errors.first)
            #expect(recorded.status == 499)
            #expect(recorded.error?.code == "client_closed_request")
        }
        // The servers have stopped, so every upstream stream has ended: the agent's hang-up
        // reached the upstream, which stopped its stream rather than sending all 100 chunks.
        #expect(upstream?.abandonedStreams == 1)
    }
}

/// Holds the database's write lock from another connection until released.
final class DatabaseHolder: @unchecked Sendable {
    // Used from one test body only; the lock is what is shared, not this object.
    private var queue: GRDBQueueHolder?

    init(path: String) throws {
        queue = try GRDBQueueHolder(path: path)
    }

    func release() { queue?.release(); queue = nil }
}
