import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchMock
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

/// Latency rules: a percentile of call duration per group, from the stored histograms, with
/// the threshold rules' semantics; judged on hand-built histograms, agreeing between the live
/// store and a replay, and on a live agent whose upstream slows down.
@Suite struct LatencyRuleTests {
    static let start: Int64 = 1_795_651_200_000
    static let minute = Timestamp.minute

    static func rule(_ yaml: String) throws -> AlertRule {
        var configuration = AgentConfiguration()
        try configuration.apply(yaml: "rules:\n" + yaml, path: "test.yaml")
        return configuration.alerts.rules[0]
    }

    static let slowRule = """
          - name: slow
            kind: latency
            percentile: p95
            group_by: [model]
            window: 10m
            warning: 5s
            critical: 30s
            min_calls: 20
        """

    /// `count` calls of `model` at `at`, each taking `latency` ms.
    static func calls(_ model: String, at: Int64, latency: Int64, count: Int) -> [CallOutcome] {
        (0..<count).map { _ in CallOutcome(timestamp: at, app: "shop", endpoint: "/v1/chat/completions", model: model, status: 200, latencyMs: latency) }
    }

    @Test func thePercentileOfEachGroupIsJudgedFromItsHistogram() throws {
        let rule = try Self.rule(Self.slowRule)
        #expect(rule.kind == .latency && rule.percentile == 0.95 && rule.warning == 5_000 && rule.critical == 30_000)
        let store = try Store.inMemory()
        // gpt-4o: 100 calls at 800 ms. claude: 90 at 2 s and 10 at 20 s, so its p95 is in the 10–30 s
        // bucket. mini: 10 slow calls, fewer than min_calls.
        try store.record(Self.calls("gpt-4o", at: Self.start - 5 * Self.minute, latency: 800, count: 100)
            + Self.calls("claude", at: Self.start - 5 * Self.minute, latency: 2_000, count: 90)
            + Self.calls("claude", at: Self.start - 4 * Self.minute, latency: 20_000, count: 10)
            + Self.calls("mini", at: Self.start - 3 * Self.minute, latency: 60_000, count: 10))
        let verdicts = try RuleEvaluator.evaluate(rule, at: Self.start, source: StoreCountSource(store: store), active: [:])
        #expect(verdicts[["gpt-4o"]]?.outcome == .normal && verdicts[["gpt-4o"]]?.calls == 100)
        // gpt-4o's p95 interpolated in its bucket (500–1000 ms): 500 + 500 × 95/100.
        #expect(verdicts[["gpt-4o"]]?.value == 975)
        let claude = try #require(verdicts[["claude"]])
        // Rank 95 of 100 falls in 10–30 s holding 10 calls: 10 s + 20 s × (95 − 90) / 10.
        #expect(claude.outcome == .alerting(.warning) && claude.value == 20_000 && claude.threshold == 5_000 && claude.errors == 10)
        #expect(verdicts[["mini"]]?.outcome == .normal)

        // Hysteresis: once warning, the alert holds until p95 falls below 80% of 5 s.
        let held = try RuleEvaluator.evaluate(rule, at: Self.start, source: StoreCountSource(store: store), active: [["mini"]: .warning])
        #expect(held[["mini"]]?.outcome == .hold)
        #expect(AlertText.value(claude.value, rule: rule) == "20.00 s" && AlertText.value(975, rule: rule) == "975 ms")
    }

    @Test func aReplayOfTheMinuteCountsAgreesWithTheLiveStore() throws {
        let rule = try Self.rule(Self.slowRule)
        let store = try Store.inMemory()
        var outcomes: [CallOutcome] = []
        for minute in 0..<60 {
            let at = Self.start + Int64(minute) * Self.minute
            outcomes += Self.calls("gpt-4o", at: at, latency: minute < 30 ? 900 : 12_000, count: 5)
            outcomes += Self.calls("claude", at: at, latency: 3_000 + Int64(minute) * 500, count: 3)
        }
        try store.record(outcomes)
        let replay = ReplaySource(rows: try store.minuteRows(since: Self.start, until: Self.start + 60 * Self.minute, latency: true))
        for minute in stride(from: 5, through: 60, by: 5) {
            let now = Self.start + Int64(minute) * Self.minute
            let live = try RuleEvaluator.evaluate(rule, at: now, source: StoreCountSource(store: store), active: [:])
            let replayed = try RuleEvaluator.evaluate(rule, at: now, source: replay, active: [:])
            #expect(live == replayed, "minute \(minute)")
        }
        let end = try RuleEvaluator.evaluate(rule, at: Self.start + 60 * Self.minute, source: replay, active: [:])
        // The last 10 minutes: gpt-4o's p95 in 10–30 s; claude's half past 30 s.
        #expect(end[["gpt-4o"]]?.outcome == .alerting(.warning) && end[["claude"]]?.outcome == .alerting(.critical))
    }

    @Test func settingsAreCheckedWithOneSentence() {
        func message(_ yaml: String) -> String? {
            do { _ = try Self.rule(yaml); return nil } catch { return (error as? ErrWatchError)?.message ?? "\(error)" }
        }
        #expect(message("  - {name: a, kind: latency, percentile: 95, warning: 5s}")
            == "Invalid percentile '95' of rule 'a' (test.yaml line 2); give p50, p90, p95 or p99 (any pNN between p1 and p99.9).")
        #expect(message("  - {name: a, kind: latency, warning: 5%}")
            == "Invalid warning '5%' of rule 'a' (test.yaml line 2); give a duration such as 800ms, 10s or 1m.")
        #expect(message("  - {name: a, kind: latency, window: 5m}") == "The latency rule 'a' (test.yaml line 2) needs a warning or a critical level.")
        #expect(message("  - {name: a, kind: latency, percentile: p99.9, critical: 2m}") == nil)
    }

    /// A live agent in front of an upstream that answers in 300 ms: the rule fires, its summary
    /// says the percentile and how many calls were slower.
    @Test func aLiveAgentWhoseUpstreamSlowsDownFires() async throws {
        var mock = Harness.quietMock()
        mock.latencyMs = 300...300
        try await Harness.with(mock: mock) { harness in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<25 {
                    group.addTask { try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o","messages":[]}"#).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 25))
            _ = try await harness.recorded()
            let rule = try Self.rule("""
                  - name: slow
                    kind: latency
                    percentile: p50
                    window: 5m
                    warning: 200ms
                    min_calls: 20
                """)
            var states: [AlertEngine.Key: AlertState] = [:]
            let result = AlertEngine.evaluate([rule], at: Timestamp.now() + Self.minute, source: StoreCountSource(store: harness.agent.store), states: &states)
            let alert = try #require(states.values.first)
            #expect(alert.phase == .firing && alert.severity == .warning && alert.calls == 25 && alert.errors == 25)
            // 300 ms falls in the 250–500 ms bucket (p50 its middle, 375 ms) on an idle machine;
            // a busy one adds its own delay, never less.
            #expect(alert.value >= 375)
            let event = try #require(result.events.first)
            let summary = AlertText.summary(event, rule: rule)
            #expect(summary.hasPrefix("slow is warning for all calls: p50 latency ") && summary.hasSuffix(" ms against 200 ms (25 calls in 5m, 25 slower than that)."))
        }
    }
}
