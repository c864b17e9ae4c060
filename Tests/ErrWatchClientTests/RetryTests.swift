@testable import ErrWatchClient
import ErrWatchCore
import Foundation
import Testing

@Suite struct RetryTests {
    func client(_ url: String, _ observed: Observed, _ adjust: (inout RetryPolicy) -> Void = { _ in }) -> ErrWatchClient {
        var policy = RetryPolicy()
        adjust(&policy)
        return ErrWatchClient(baseURL: url, apiKey: "sk-test-0123456789abcdef", policy: policy, recorder: observed,
                              app: "tests", timing: observed.timing, seed: 7)
    }

    @Test(arguments: [400, 401, 403, 404])
    func clientErrorsAreNeverRetried(status: Int) async throws {
        try await withUpstream { url in
            let observed = Observed()
            let client = client(url, observed)
            defer { Task { try? await client.shutdown() } }
            let error = await #expect(throws: APIError.self) {
                try await client.send(path: "/chat/completions", json: Array(chatBody.utf8), headers: [("x-mock-status", String(status))])
            }
            #expect(error?.status == status && error?.retryable == false && error?.attempts == 1)
            #expect(observed.recorded.count == 1 && observed.waited.isEmpty)
            #expect(observed.recorded.first?.error?.type == ErrorType.forStatus(status))
            try await client.shutdown()
        }
    }

    @Test(arguments: [500, 502, 503])
    func serverErrorsAreRetriedWithExponentialBackoff(status: Int) async throws {
        try await withUpstream { url in
            let observed = Observed()
            let client = client(url, observed)
            let error = await #expect(throws: APIError.self) {
                try await client.send(path: "/chat/completions", json: Array(chatBody.utf8), headers: [("x-mock-status", String(status))])
            }
            #expect(error?.attempts == 4 && error?.status == status)
            #expect(observed.recorded.map(\.attempt) == [0, 1, 2, 3])
            #expect(observed.recorded.map(\.finalAttempt) == [false, false, false, true])
            // 0.5 s, 1 s, 2 s, each less up to a quarter of jitter.
            let waits = observed.waited
            #expect(waits.count == 3)
            for (wait, base) in zip(waits, [Duration.milliseconds(500), .seconds(1), .seconds(2)]) {
                #expect(wait <= base && wait >= base * 0.75)
            }
            try await client.shutdown()
        }
    }

    @Test func backoffDoublesToItsCap() {
        let policy = RetryPolicy()
        #expect((1...8).map { policy.backoff(retry: $0, random: 0) } == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8), .seconds(8)])
        #expect(policy.backoff(retry: 3, random: 0.999_999) > .milliseconds(1_500))
    }

    @Test func rateLimitsWaitAsTheServerSays() async throws {
        try await withUpstream { url in
            let observed = Observed()
            let client = client(url, observed) { $0.maxRetries = 2 }
            let error = await #expect(throws: APIError.self) {
                try await client.send(path: "/chat/completions", json: Array(chatBody.utf8), headers: [("x-mock-status", "429")])
            }
            #expect(error?.type == .rateLimit && error?.attempts == 3 && error?.retryAfter == .seconds(1))
            #expect(observed.waited == [.seconds(1), .seconds(1)])
            try await client.shutdown()
        }
    }

    @Test(arguments: [
        ("retry-after-ms=250", Duration.milliseconds(250)), ("retry-after=2", .seconds(2)),
        ("x-ratelimit-reset-requests=1.5s", .milliseconds(1_500)),
    ])
    func eachRetryHeaderIsHonoured(header: String, wait: Duration) async throws {
        try await withUpstream { url in
            let observed = Observed()
            let client = client(url, observed) { $0.maxRetries = 1 }
            _ = await #expect(throws: APIError.self) {
                try await client.send(path: "/chat/completions", json: Array(chatBody.utf8),
                                      headers: [("x-mock-status", "429"), ("x-mock-retry-header", header)])
            }
            #expect(observed.waited == [wait])
            try await client.shutdown()
        }
    }

    @Test func aServerDelayOverTheCapIsNotWaitedFor() async throws {
        try await withUpstream { url in
            let observed = Observed()
            let client = client(url, observed) { $0.maxServerDelay = .milliseconds(500) }
            let error = await #expect(throws: APIError.self) {
                try await client.send(path: "/chat/completions", json: Array(chatBody.utf8), headers: [("x-mock-status", "429")])
            }
            #expect(error?.attempts == 1 && error?.retryAfter == .seconds(1))
            #expect(observed.waited.isEmpty)
            try await client.shutdown()
        }
    }

    @Test func theServersShouldRetryHeaderWinsBothWays() async throws {
        try await withUpstream { url in
            let observed = Observed()
            let client = client(url, observed)
            let noRetry = await #expect(throws: APIError.self) {
                try await client.send(path: "/chat/completions", json: Array(chatBody.utf8), headers: [("x-mock-status", "503"), ("x-mock-should-retry", "false")])
            }
            #expect(noRetry?.attempts == 1)
            let retry = await #expect(throws: APIError.self) {
                try await client.send(path: "/chat/completions", json: Array(chatBody.utf8), headers: [("x-mock-status", "400"), ("x-mock-should-retry", "true")])
            }
            #expect(retry?.attempts == 4)
            try await client.shutdown()
        }
    }

    @Test func theOverallDeadlineStopsRetrying() async throws {
        try await withUpstream { url in
            let observed = Observed()
            // Waits pass at once (Observed's clock), so the scale is free: large enough, and without
            // jitter, that the real time of the attempts (up to a minute on a starved machine)
            // cannot change the outcome.
            let client = client(url, observed) {
                $0.initialBackoff = .seconds(50)
                $0.maxBackoff = .seconds(600)
                $0.deadline = .seconds(120)
                $0.jitter = 0
            }
            let error = await #expect(throws: APIError.self) {
                try await client.send(path: "/chat/completions", json: Array(chatBody.utf8), headers: [("x-mock-status", "500")])
            }
            // Waits of 50 s and 100 s would pass 120 s: the second is not taken.
            #expect(error?.attempts == 2)
            #expect(observed.waited.count == 1)
            try await client.shutdown()
        }
    }

    @Test func fallsBackAfter502ToTheNextModelAndRecordsIt() async throws {
        try await withUpstream { url in
            let observed = Observed()
            let client = client(url, observed) { $0.fallbackModels = ["gpt-4o-mini", "claude-sonnet-4"] }
            let reply = try await client.send(path: "/chat/completions", json: Array(chatBody.utf8),
                                              headers: [("x-mock-status", "502"), ("x-mock-fail-model", "gpt-4o")])
            #expect(reply.status == 200 && reply.model == "gpt-4o-mini" && reply.attempts == 2)
            #expect(reply.text.contains("\"model\":\"gpt-4o-mini\""))
            #expect(observed.recorded.map(\.model) == ["gpt-4o", "gpt-4o-mini"])
            #expect(observed.recorded.map(\.attempt) == [0, 1])
            #expect(observed.recorded.map { $0.error?.type } == [.upstream, nil])
            #expect(observed.recorded.map(\.finalAttempt) == [false, true])
            #expect(observed.waited.isEmpty, "a 502 falls back at once")
            try await client.shutdown()
        }
    }

    @Test func fallsBackWhenRetriesAreExhausted() async throws {
        try await withUpstream { url in
            let observed = Observed()
            let client = client(url, observed) {
                $0.fallbackModels = ["gpt-4o-mini"]
                $0.maxRetries = 1
            }
            let reply = try await client.send(path: "/chat/completions", json: Array(chatBody.utf8),
                                              headers: [("x-mock-status", "429"), ("x-mock-fail-model", "gpt-4o")])
            #expect(reply.model == "gpt-4o-mini" && reply.attempts == 3)
            #expect(observed.recorded.map(\.model) == ["gpt-4o", "gpt-4o", "gpt-4o-mini"])
            try await client.shutdown()
        }
    }

    @Test func gatewayFallbackIsPassedAsAParameter() throws {
        let body = try ErrWatchClient.body(Array(chatBody.utf8), model: nil, gatewayFallback: ["gpt-4o-mini"])
        let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        #expect((object?["provider"] as? [String: Any])?["fallback"] as? [String] == ["gpt-4o-mini"])
        #expect(object?["model"] as? String == "gpt-4o")
    }

    @Test func cancellingDuringABackoffStopsAtOnce() async throws {
        try await withUpstream { url in
            // A real wait, a minute long, that says when it begins: only cancellation ends it soon.
            let (waiting, begun) = AsyncStream.makeStream(of: Void.self)
            let timing = ErrWatchClient.Timing(now: { ContinuousClock.now }, sleep: { _ in
                begun.yield()
                try await Task.sleep(for: .seconds(60))
            })
            let client = ErrWatchClient(baseURL: url, apiKey: "sk-test-0123456789abcdef", timing: timing)
            let task = Task {
                try await client.send(path: "/chat/completions", json: Array(chatBody.utf8), headers: [("x-mock-status", "503")])
            }
            // The first attempt failed and the backoff has begun: cancel now.
            var iterator = waiting.makeAsyncIterator()
            await iterator.next()
            let started = ContinuousClock.now
            task.cancel()
            let result = await task.result
            #expect(started.duration(to: .now) < .seconds(10))
            #expect(throws: CancellationError.self) { try result.get() }
            try await client.shutdown()
        }
    }

    @Test func aConnectionFailureIsRetriedAndTyped() async throws {
        let observed = Observed()
        let client = client("http://127.0.0.1:9/v1", observed) { $0.maxRetries = 1 }
        let error = await #expect(throws: APIError.self) {
            try await client.send(path: "/chat/completions", json: Array(chatBody.utf8))
        }
        #expect(error?.status == nil && error?.type == .connection && error?.attempts == 2)
        try await client.shutdown()
    }
}
