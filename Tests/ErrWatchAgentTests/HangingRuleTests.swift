import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Hanging rules and the calls in flight: a provider that accepts the connection and never
/// answers is seen while the call is still open, at `GET /api/v1/inflight`, in `/metrics`,
/// and by a rule; `alerts test` finds the same from the durations recorded afterwards.
@Suite struct HangingRuleTests {
    static let start: Int64 = 1_795_651_200_000
    static let minute = Timestamp.minute

    @Test func callsInFlightLongerThanAfterAreCountedPerGroup() throws {
        let rule = try LatencyRuleTests.rule("  - {name: stuck, kind: hanging, after: 2m, group_by: [model]}")
        #expect(rule.warning == 1 && rule.hangingAfterMs == 120_000)
        func call(_ model: String, _ age: Int64) -> InflightCall {
            InflightCall(startedAt: Self.start - age, app: "shop", endpoint: "/v1/chat/completions", model: model, streaming: false)
        }
        let underway = [call("gpt-4o", 5_000), call("gpt-4o", 150_000), call("gpt-4o", 200_000), call("claude", 30_000)]
        let store = try Store.inMemory()
        let verdicts = try RuleEvaluator.evaluate(rule, at: Self.start, source: StoreCountSource(store: store, inflight: underway), active: [:])
        #expect(verdicts[["gpt-4o"]] == Verdict(.alerting(.warning), value: 2, threshold: 1, calls: 3, errors: 2))
        // Nothing hanging is normal, even for a group with a firing alert: it resolves at once.
        let after = try RuleEvaluator.evaluate(rule, at: Self.start, source: StoreCountSource(store: store, inflight: [call("gpt-4o", 1_000)]),
                                               active: [["gpt-4o"]: .warning])
        #expect(after[["gpt-4o"]]?.outcome == .normal)
        #expect(verdicts[["claude"]]?.outcome == .normal)
    }

    @Test func aReplayFindsHangingCallsFromTheirRecordedDurations() throws {
        let rule = try LatencyRuleTests.rule("  - {name: stuck, kind: hanging, after: 1m}")
        let store = try Store.inMemory()
        // At 10:00 a call that took 100 s (bucket 60–120 s), and one that took 2 s.
        try store.record([
            CallOutcome(timestamp: Self.start, app: "shop", endpoint: "/v1/chat/completions", model: "gpt-4o", status: 504, latencyMs: 100_000),
            CallOutcome(timestamp: Self.start, app: "shop", endpoint: "/v1/chat/completions", model: "gpt-4o", status: 200, latencyMs: 2_000),
        ])
        let replay = ReplaySource(rows: try store.minuteRows(since: Self.start - Self.minute, until: Self.start + 10 * Self.minute, latency: true))
        // 30 s in: in flight (both counted by the lower end of their buckets), not hanging yet.
        #expect(try replay.inflight(scope: RuleScope(), groupBy: [], olderThan: Self.minute, at: Self.start + 30_000)[[]]
            == GroupCounts(calls: 1, errors: 0))
        // 59 s in it is not hanging yet; 61 s in it is (its bucket, 60–120 s, is nearly all still open).
        let at59 = try RuleEvaluator.evaluate(rule, at: Self.start + 59_000, source: replay, active: [:])
        #expect(at59[[]]?.outcome == .normal && at59[[]]?.calls == 1)
        let at61 = try RuleEvaluator.evaluate(rule, at: Self.start + 61_000, source: replay, active: [:])
        #expect(at61[[]]?.outcome == .alerting(.warning) && at61[[]]?.errors == 1)
        // Past the bucket's upper end the replay no longer sees it.
        #expect(try replay.inflight(scope: RuleScope(), groupBy: [], olderThan: Self.minute, at: Self.start + 121_000).isEmpty)
    }

    /// A call is in flight until its outcome is recorded, or at the latest until nothing holds
    /// it any more (a response whose body was never written): never for ever.
    @Test func aCallLeavesTheTableWhenEndedOrWhenItsTicketGoes() {
        let calls = InflightCalls()
        let call = InflightCall(startedAt: 0, app: "a", endpoint: "e", model: "m", streaming: false)
        do {
            let dropped = calls.begin(call)
            #expect(calls.count == 1 && dropped.key > 0)
        }
        #expect(calls.count == 0)
        let ended = calls.begin(call)
        ended.end()
        ended.end()
        #expect(calls.count == 0)
    }

    @Test func hangingRulesRefuseWhatACallInFlightCannotHave() {
        var message: String?
        do { _ = try LatencyRuleTests.rule("  - {name: stuck, kind: hanging, group_by: [type]}") } catch { message = (error as? ErrWatchError)?.message }
        #expect(message == "The hanging rule 'stuck' (test.yaml line 2) uses type, which a call in flight does not have yet; group and filter by app, endpoint, model, upstream, provider or host.")
    }

    /// A live agent in front of an upstream that holds a call for a minute: while it is open it
    /// is listed, counted and judged hanging; once it ends (the app gives up), the alert resolves.
    @Test func aLiveAgentSeesACallThatHangs() async throws {
        let yaml = "rules:\n  - {name: stuck, kind: hanging, after: 1s, group_by: [model]}\n"
        try await Harness.with(configure: { try! $0.apply(yaml: yaml, path: "test.yaml") }) { harness in
            let held = Task {
                try await harness.send("/v1/chat/completions", headers: [("authorization", "Bearer sk-test-abcdefghijklmnop1234"), ("x-mock-latency-ms", "60000")], body: #"{"model":"gpt-4o","messages":[]}"#)
            }
            #expect(await eventually(within: 10) { harness.agent.inflight.count == 1 })
            // Once the call is a second old, the rule fires.
            let firing = { harness.agent.alerts.currentAlerts.contains { $0.rule == "stuck" && $0.phase == .firing } }
            #expect(await eventually(within: 10) {
                _ = try? await harness.agent.alerts.evaluate()
                return firing()
            })
            let listed = try await harness.send("/api/v1/inflight", method: .GET)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(listed.body.utf8)) as? [String: Any])
            #expect(object["calls"] as? Int == 1 && (object["oldest_ms"] as? Int ?? 0) >= 1_000)
            #expect((object["by_model"] as? [[String: Any]])?.first?["model"] as? String == "gpt-4o")
            let metrics = try await harness.send("/metrics", method: .GET).body
            #expect(metrics.contains(#"errwatch_inflight_calls{model="gpt-4o"} 1"#))
            #expect(harness.agent.alerts.currentAlerts.first?.labels == ["model": "gpt-4o"])
            // The app gives up: the call is recorded (499) and no longer in flight.
            held.cancel()
            #expect(await eventually(within: 10) { harness.agent.inflight.count == 0 })
            _ = try await harness.agent.alerts.evaluate()
            #expect(!firing() && harness.agent.alerts.currentAlerts.first?.phase == .resolved)
            #expect(try await harness.recorded().errors.map(\.status) == [499])
        }
    }
}
