import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchMock
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

/// Time to first token: recorded for streams by the proxy (from the first content chunk, not
/// the headers or the role-only opening chunk), stored in its own histogram, read back as
/// percentiles, and judged by `ttft` rules with the latency rules' semantics — on hand-built
/// histograms, agreeing between the live store and a replay, and on a live agent whose
/// upstream opens streams at once but thinks before its first token.
@Suite struct TimeToFirstTokenTests {
    static let start = LatencyRuleTests.start
    static let minute = Timestamp.minute

    static func rule(_ yaml: String) throws -> AlertRule { try LatencyRuleTests.rule(yaml) }

    static let slowFirstToken = """
          - name: slow-first-token
            kind: ttft
            percentile: p90
            group_by: [model]
            window: 10m
            warning: 2s
            critical: 10s
            min_calls: 10
        """

    /// `count` streams of `model` at `at`, their first token after `firstToken` ms (nil: none came).
    static func streams(_ model: String, at: Int64, firstToken: Int64?, latency: Int64 = 20_000, count: Int) -> [CallOutcome] {
        (0..<count).map { _ in
            CallOutcome(timestamp: at, app: "shop", endpoint: "chat/completions", model: model, status: 200, latencyMs: latency,
                        timeToFirstTokenMs: firstToken, chunks: 40, streamed: true)
        }
    }

    @Test func thePercentileOfEachGroupIsJudgedFromTheFirstTokenHistogram() throws {
        let rule = try Self.rule(Self.slowFirstToken)
        #expect(rule.kind == .ttft && rule.percentile == 0.9 && rule.warning == 2_000 && rule.critical == 10_000)
        let store = try Store.inMemory()
        // gpt-4o: 20 streams, first token at 400 ms, though each lasts 20 s (latency would fire).
        // claude: 15 at 1.2 s and 5 at 4 s: its p90 in the 3–5 s bucket. mini: 5 slow ones,
        // fewer than min_calls, and 50 plain calls that never streamed (they do not count).
        let at = Self.start - 5 * Self.minute
        try store.record(Self.streams("gpt-4o", at: at, firstToken: 400, count: 20)
            + Self.streams("claude", at: at, firstToken: 1_200, count: 15)
            + Self.streams("claude", at: at + Self.minute, firstToken: 4_000, count: 5)
            + Self.streams("mini", at: at, firstToken: 30_000, count: 5)
            + (0..<50).map { _ in CallOutcome(timestamp: at, app: "shop", endpoint: "chat/completions", model: "mini", status: 200, latencyMs: 90_000) })
        let verdicts = try RuleEvaluator.evaluate(rule, at: Self.start, source: StoreCountSource(store: store), active: [:])
        // gpt-4o's p90 interpolated in 300–500 ms: 300 + 200 × 18/20.
        #expect(verdicts[["gpt-4o"]]?.outcome == .normal && verdicts[["gpt-4o"]]?.value == 480 && verdicts[["gpt-4o"]]?.calls == 20)
        let claude = try #require(verdicts[["claude"]])
        // Rank 18 of 20 falls in 3–5 s holding 5 streams: 3 s + 2 s × (18 − 15) / 5.
        #expect(claude.outcome == .alerting(.warning) && claude.value == 4_200 && claude.threshold == 2_000 && claude.errors == 5)
        #expect(verdicts[["mini"]]?.outcome == .normal && verdicts[["mini"]]?.calls == 5)

        let state = AlertState(rule: rule.name, group: ["claude"], labels: ["model": "claude"], phase: .firing, severity: .warning,
                               value: claude.value, threshold: claude.threshold, calls: claude.calls, errors: claude.errors,
                               activeSince: Self.start, startsAt: Self.start, endsAt: nil, lastNotifiedAt: nil, updatedAt: Self.start)
        let event = AlertEvent(kind: .firing, alert: state, at: Self.start, notify: true)
        #expect(AlertText.summary(event, rule: rule)
            == "slow-first-token is warning for model=claude: p90 time to first token 4.20 s against 2.00 s (20 streams in 10m, 5 slower than that).")

        // The same streams read back as percentiles next to the error rate (report, dashboard).
        let rows = try store.rates(Filter(since: Self.start - Self.minute * 10, until: Self.start), by: [.model], timings: true)
        let timings = try #require(rows.first { $0.group == ["claude"] }?.timings)
        #expect(timings.streams == 20 && timings.p50FirstTokenMs == 1_000 + 500 * 10 / 15)
        #expect(rows.first { $0.group == ["mini"] }?.timings?.streams == 5)
    }

    @Test func aReplayOfTheMinuteCountsAgreesWithTheLiveStoreAndRollupsKeepTheHistogram() throws {
        let rule = try Self.rule(Self.slowFirstToken)
        let store = try Store.inMemory()
        var outcomes: [CallOutcome] = []
        for minute in 0..<60 {
            let at = Self.start + Int64(minute) * Self.minute
            outcomes += Self.streams("gpt-4o", at: at, firstToken: minute < 30 ? 600 : 2_500, count: 3)
            outcomes += Self.streams("claude", at: at, firstToken: 500 + Int64(minute) * 200, count: 2)
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
        #expect(end[["gpt-4o"]]?.outcome == .alerting(.warning) && end[["claude"]]?.outcome == .alerting(.critical))

        // Rolled up into hours, the histogram and the stream counts are whole.
        let hour = Filter(since: Self.start, until: Self.start + 60 * Self.minute)
        let before = try store.rates(hour, by: [.model], timings: true)
        try store.rollUp(now: Self.start + 3 * Timestamp.day)
        let after = try store.rates(hour, by: [.model], timings: true)
        #expect(before == after && after.count == 2 && after.allSatisfy { $0.timings?.streams == $0.calls })
    }

    @Test func aReportedFirstTokenNeedsAStream() throws {
        let decoder = OutcomeDecoder(now: Self.start)
        let streamed = try decoder.decode(line: #"{"ts":\#(Self.start),"status":200,"streamed":true,"time_to_first_token_ms":350,"chunks":12}"#)
        #expect(streamed.timeToFirstTokenMs == 350 && streamed.chunks == 12)
        // What a client reports comes back out field for field.
        #expect(try decoder.decode(line: OutcomeEncoder.jsonLine(streamed)) == streamed)
        #expect(throws: ErrWatchError.self) { try decoder.decode(line: #"{"ts":\#(Self.start),"status":200,"time_to_first_token_ms":350}"#) }
    }

    /// A live agent in front of an upstream that opens each stream at once (headers and a
    /// role-only chunk) and sends its first content 600 ms later: the proxy records the time to
    /// that content, not to the headers, and the rule fires — over plain HTTP and over TLS.
    @Test(arguments: [Transport.plain, .tls])
    func aLiveAgentRecordsTheFirstContentAndTheRuleFires(transport: Transport) async throws {
        try await Harness.with(transport: transport) { harness in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await harness.send("/v1/chat/completions",
                                               headers: [("authorization", "Bearer sk-test-abcdefghijklmnop1234"), ("x-mock-first-token-ms", "600")],
                                               body: #"{"model":"gpt-4o","stream":true,"messages":[]}"#).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 12))
            _ = try await harness.recorded()
            let rows = try harness.agent.store.minuteRows(since: 0, until: Int64.max / 2, latency: true)
            let firstTokens = rows.reduce(into: [Int64](repeating: 0, count: Histogram.firstToken.count)) { sums, row in
                for (index, count) in row.firstToken.enumerated() { sums[index] += count }
            }
            // All 12 in the buckets at or above 500–750 ms: none was timed at its headers.
            #expect(firstTokens.reduce(0, +) == 12 && firstTokens.prefix(Histogram.firstToken.bucket(600)).allSatisfy { $0 == 0 }, "\(firstTokens)")
            let rule = try Self.rule("""
                  - name: slow-first-token
                    kind: ttft
                    percentile: p50
                    window: 5m
                    warning: 300ms
                    min_calls: 10
                """)
            var states: [AlertEngine.Key: AlertState] = [:]
            let result = AlertEngine.evaluate([rule], at: Timestamp.now() + Self.minute, source: StoreCountSource(store: harness.agent.store), states: &states)
            let alert = try #require(states.values.first)
            #expect(alert.phase == .firing && alert.severity == .warning && alert.calls == 12 && alert.value >= 500)
            let summary = AlertText.summary(try #require(result.events.first), rule: rule)
            #expect(summary.hasPrefix("slow-first-token is warning for all calls: p50 time to first token "), "\(summary)")
        }
    }
}
