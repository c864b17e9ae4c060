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
}
