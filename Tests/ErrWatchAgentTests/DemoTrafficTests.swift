@testable import ErrWatchAgent
import ErrWatchCore
@testable import ErrWatchMock
import Foundation
import Testing

/// Stopping the demo's traffic (Ctrl-C) lets the calls under way finish: none is cut and
/// recorded as abandoned (499).
@Suite struct DemoTrafficTests {
    @Test func stoppingLetsCallsUnderWayFinish() async throws {
        var mock = Harness.quietMock()
        mock.latencyMs = 400...400
        try await Harness.with(mock: mock) { harness in
            let traffic = DemoTraffic(client: harness.client, baseURL: harness.agentURL + "/v1", clients: 4, requestsPerSecond: 40)
            let running = Task { await traffic.run(until: .now + .seconds(60)) }
            // Wait (bounded) until calls are under way, then stop as Ctrl-C does.
            for _ in 0..<100 where traffic.counts.attempts < 4 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(traffic.counts.attempts >= 4)
            traffic.stop()
            await running.value
            let recorded = try await harness.recorded()
            #expect(recorded.errors.filter { $0.status == 499 }.isEmpty, "calls were cut: \(recorded.errors.map { $0.error?.code ?? "" })")
            #expect(recorded.calls == Int64(traffic.counts.attempts), "every attempt answered and recorded")
            #expect(traffic.counts.failed == 0)
        }
    }

    /// The demo's apps are errwatch's own client library: a rate-limit storm is retried as it
    /// retries (the attempt number sent, the server's delay honoured), and the agent records
    /// every attempt once, never the apps as well.
    @Test func aRateLimitStormIsRetriedByTheClientLibraryAndEveryAttemptRecordedOnce() async throws {
        try await Harness.with(mock: Harness.quietMock()) { harness in
            let traffic = DemoTraffic(client: harness.client, baseURL: harness.agentURL + "/v1", clients: 4, requestsPerSecond: 80,
                                      burst: (during: .now ..< .now + .seconds(60), share: 0.5))
            let running = Task { await traffic.run(until: .now + .seconds(60)) }
            for _ in 0..<500 where traffic.counts.calls < 30 { try await Task.sleep(for: .milliseconds(20)) }
            traffic.stop()
            await running.value
            let counts = traffic.counts
            let recorded = try await harness.recorded()
            #expect(counts.calls >= 30)
            #expect(recorded.calls == Int64(counts.attempts), "each attempt recorded once, by the agent")
            #expect(recorded.errors.count == counts.attempts - (counts.calls - counts.failed), "every attempt but the successes failed")
            #expect(recorded.errors.allSatisfy { $0.status == 429 })
            // Half the attempts are refused; a call fails only when all four of its attempts are.
            #expect(counts.retries > 0 && counts.failed < counts.calls / 4, "\(counts)")
            #expect(recorded.errors.contains { $0.attempt > 0 }, "retries carry their attempt number")
        }
    }
}
