import ErrWatchCore
import Testing

/// Each rule kind on hand-built minute counts.
struct RuleEvaluatorTests {
    static let minute = Timestamp.minute
    static let now = 1_795_651_200_000 + Timestamp.day

    /// Rows for one minute `minutesAgo` before `now`: `calls` calls of `model`, `errors` of them 429s.
    static func minute(_ minutesAgo: Int64, model: String = "gpt-4o", calls: Int64, errors: Int64, type: String = "rate_limit_error",
                       code: String = "rate_limit_exceeded", status: Int = 429) -> [ReplaySource.Row] {
        let bucket = now - minutesAgo * minute
        var rows = [ReplaySource.Row(bucket: bucket, app: "shop", endpoint: "/v1/chat/completions", model: model, status: 200,
                                     type: "", code: "", calls: calls - errors)]
        if errors > 0 {
            rows.append(ReplaySource.Row(bucket: bucket, app: "shop", endpoint: "/v1/chat/completions", model: model, status: status,
                                         type: type, code: code, calls: errors))
        }
        return rows
    }

    func threshold(minCalls: Int64 = 20, credible: Bool = true) -> AlertRule {
        var rule = AlertRule(name: "rate")
        rule.groupBy = [.model]
        rule.warning = 0.02
        rule.critical = 0.05
        rule.resolve = 0.01
        rule.minCalls = minCalls
        rule.credible = credible
        return rule
    }

    func verdicts(_ rule: AlertRule, _ rows: [ReplaySource.Row], active: [[String]: AlertSeverity] = [:]) throws -> [[String]: Verdict] {
        try RuleEvaluator.evaluate(rule, at: Self.now, source: ReplaySource(rows: rows), active: active)
    }

    @Test func thresholdLevelsPerGroup() throws {
        let rows = Self.minute(1, model: "a", calls: 1000, errors: 100) + Self.minute(1, model: "b", calls: 1000, errors: 30)
            + Self.minute(1, model: "c", calls: 1000, errors: 5)
        let result = try verdicts(threshold(), rows)
        #expect(result[["a"]]?.outcome == .alerting(.critical))
        #expect(result[["b"]]?.outcome == .alerting(.warning))
        #expect(result[["c"]]?.outcome == .normal)
        #expect(result[["a"]]?.value == 0.1)
        #expect(result[["a"]]?.threshold == 0.05)
        #expect(result[["a"]]?.calls == 1000)
    }

    @Test func onlyCallsInsideTheWindowCount() throws {
        // Ten minutes ago is outside the default five-minute window.
        let rows = Self.minute(10, calls: 1000, errors: 500) + Self.minute(2, calls: 1000, errors: 0)
        #expect(try verdicts(threshold(), rows)[["gpt-4o"]]?.outcome == .normal)
    }

    @Test func lowTrafficDoesNotPage() throws {
        // One failure in three calls: below min_calls.
        #expect(try verdicts(threshold(), Self.minute(1, calls: 3, errors: 1))[["gpt-4o"]]?.outcome == .normal)
        // 2 of 25 is 8% observed, but the Wilson bound (2.2%) is under the 5% critical level.
        let few = try verdicts(threshold(), Self.minute(1, calls: 25, errors: 2))[["gpt-4o"]]
        #expect(few?.outcome == .alerting(.warning))
        // With the bound off, the observed 8% pages at critical.
        #expect(try verdicts(threshold(credible: false), Self.minute(1, calls: 25, errors: 2))[["gpt-4o"]]?.outcome == .alerting(.critical))
        // A firing alert is held, not resolved, when traffic drops below min_calls.
        #expect(try verdicts(threshold(), Self.minute(1, calls: 3, errors: 0), active: [["gpt-4o"]: .warning])[["gpt-4o"]]?.outcome == .hold)
    }

    @Test func wilsonLowerBoundMatchesKnownValues() {
        #expect(abs(RuleEvaluator.wilsonLowerBound(errors: 1, calls: 3) - 0.0615) < 0.001)
        #expect(abs(RuleEvaluator.wilsonLowerBound(errors: 10, calls: 100) - 0.0552) < 0.001)
        #expect(RuleEvaluator.wilsonLowerBound(errors: 0, calls: 100) == 0)
        #expect(RuleEvaluator.wilsonLowerBound(errors: 0, calls: 0) == 0)
    }

    @Test func hysteresisKeepsFiringBetweenResolveAndLevel() throws {
        // 1.5%: under the 2% warning level, above the 1% resolve level.
        let rows = Self.minute(1, calls: 1000, errors: 15)
        #expect(try verdicts(threshold(), rows)[["gpt-4o"]]?.outcome == .normal)
        #expect(try verdicts(threshold(), rows, active: [["gpt-4o"]: .warning])[["gpt-4o"]]?.outcome == .alerting(.warning))
        // Critical steps down to warning below the scaled critical level (5% × 1/2 = 2.5%).
        #expect(try verdicts(threshold(), rows, active: [["gpt-4o"]: .critical])[["gpt-4o"]]?.outcome == .alerting(.warning))
        #expect(try verdicts(threshold(), Self.minute(1, calls: 1000, errors: 30), active: [["gpt-4o"]: .critical])[["gpt-4o"]]?.outcome
            == .alerting(.critical))
        // 0.5% resolves.
        #expect(try verdicts(threshold(), Self.minute(1, calls: 1000, errors: 5), active: [["gpt-4o"]: .warning])[["gpt-4o"]]?.outcome == .normal)
    }

    @Test func activeGroupWithoutCallsHasNoData() throws {
        let result = try verdicts(threshold(), Self.minute(1, model: "other", calls: 100, errors: 0), active: [["gpt-4o"]: .warning])
        #expect(result[["gpt-4o"]]?.outcome == .noData)
    }

    @Test func errorScopeNarrowsTheNumeratorOnly() throws {
        var rule = threshold()
        rule.scope.types = ["rate_limit_error"]
        let rows = Self.minute(1, calls: 1000, errors: 30)
            + Self.minute(1, calls: 0, errors: 0).map { row in var row = row; row.calls = 0; return row }
            + [ReplaySource.Row(bucket: Self.now - Self.minute, app: "shop", endpoint: "/v1/chat/completions", model: "gpt-4o",
                                status: 500, type: "server_error", code: "internal_error", calls: 200)]
        let verdict = try verdicts(rule, rows)[["gpt-4o"]]
        #expect(verdict?.errors == 30)
        #expect(verdict?.calls == 1200)
    }

    @Test func groupByTypeDividesByAllCallsOfTheModel() throws {
        var rule = threshold()
        rule.groupBy = [.model, .type]
        let rows = Self.minute(1, calls: 1000, errors: 30)
        let result = try verdicts(rule, rows)
        #expect(Array(result.keys) == [["gpt-4o", "rate_limit_error"]])
        #expect(result[["gpt-4o", "rate_limit_error"]]?.calls == 1000)
        #expect(result[["gpt-4o", "rate_limit_error"]]?.errors == 30)
    }

    @Test func errorCountMetric() throws {
        var rule = threshold(minCalls: 0)
        rule.metric = .errorCount
        rule.warning = 10
        rule.critical = 50
        rule.resolve = nil
        #expect(try verdicts(rule, Self.minute(1, calls: 1000, errors: 12))[["gpt-4o"]]?.outcome == .alerting(.warning))
        // The default resolve level is 80% of the lowest level: 9 keeps a warning firing, 7 resolves it.
        #expect(try verdicts(rule, Self.minute(1, calls: 1000, errors: 9), active: [["gpt-4o"]: .warning])[["gpt-4o"]]?.outcome
            == .alerting(.warning))
        #expect(try verdicts(rule, Self.minute(1, calls: 1000, errors: 7), active: [["gpt-4o"]: .warning])[["gpt-4o"]]?.outcome == .normal)
    }

    @Test func changeAgainstThePreviousWindowAndTheDayBefore() throws {
        var rule = AlertRule(name: "change")
        rule.kind = .change
        rule.warning = 3
        rule.minRate = 0.02
        // Previous window (minutes 6-10 ago) 1%, now 5%: five times.
        let rows = Self.minute(7, calls: 1000, errors: 10) + Self.minute(1, calls: 1000, errors: 50)
        #expect(try verdicts(rule, rows)[[]]?.outcome == .alerting(.warning))
        #expect(try verdicts(rule, rows)[[]]?.value == 5)
        // Twice is under the factor.
        #expect(try verdicts(rule, Self.minute(7, calls: 1000, errors: 25) + Self.minute(1, calls: 1000, errors: 50))[[]]?.outcome == .normal)
        // Five times a tiny rate is under min_rate.
        #expect(try verdicts(rule, Self.minute(7, calls: 1000, errors: 1) + Self.minute(1, calls: 1000, errors: 5))[[]]?.outcome == .normal)
        // Against the same window a day earlier.
        rule.compare = .day
        let daily = Self.minute(1441, calls: 1000, errors: 10) + Self.minute(7, calls: 1000, errors: 50) + Self.minute(1, calls: 1000, errors: 50)
        #expect(try verdicts(rule, daily)[[]]?.outcome == .alerting(.warning))
        // No baseline at all: nothing to compare with.
        #expect(try verdicts(rule, Self.minute(1, calls: 1000, errors: 50))[[]]?.outcome == .normal)
    }

    @Test func burnRateNeedsBothWindowsOfAPair() throws {
        var rule = AlertRule(name: "slo")
        rule.kind = .burnRate
        rule.slo = 0.995
        rule.minCalls = 0
        // An hour at 10% errors: 20× the 0.5% budget in both the 1h and the 5m window.
        var rows: [ReplaySource.Row] = []
        for minute in 1...60 { rows += Self.minute(Int64(minute), calls: 100, errors: 10) }
        let burning = try verdicts(rule, rows)[[]]
        #expect(burning?.outcome == .alerting(.critical))
        #expect(abs((burning?.value ?? 0) - 20) < 0.001)
        // The last five minutes clean: the 1h/5m pair stops, the 6h/30m pair still pages.
        func hour(cleanMinutes: Int) -> [ReplaySource.Row] {
            (1...60).flatMap { Self.minute(Int64($0), calls: 100, errors: $0 <= cleanMinutes ? 0 : 10) }
        }
        #expect(try verdicts(rule, hour(cleanMinutes: 5))[[]]?.outcome == .alerting(.critical))
        // The last thirty clean: both paging pairs stop; the 3d/6h pair still burns at 10× → warning.
        #expect(try verdicts(rule, hour(cleanMinutes: 30))[[]]?.outcome == .alerting(.warning))
        // With only the 1h/5m pair configured, five clean minutes end it.
        rule.burnWindows = [AlertRule.BurnWindow.workbook[0]]
        #expect(try verdicts(rule, hour(cleanMinutes: 5))[[]]?.outcome == .normal)
        rule.burnWindows = AlertRule.BurnWindow.workbook
        // A slow burn (1% for six hours, 2× budget): only the 3d/6h pair at 1× → warning.
        var slow: [ReplaySource.Row] = []
        for minute in 1...360 { slow += Self.minute(Int64(minute), calls: 100, errors: 1) }
        #expect(try verdicts(rule, slow)[[]]?.outcome == .alerting(.warning))
    }

    /// Entering a burn takes a credible one (1.3× budget from 3 errors in 462 calls is not);
    /// leaving takes the burn below 80% of the factor, so a burn hovering at 1× does not flap.
    @Test func burnRateIsCredibleToFireAndHoldsUntilWellBelow() throws {
        var rule = AlertRule(name: "slo")
        rule.kind = .burnRate
        rule.burnWindows = [AlertRule.BurnWindow(longMs: 60 * Self.minute, shortMs: 10 * Self.minute, factor: 1, severity: .warning)]
        /// An hour of one error a minute in `calls` calls: a burn of 1/(calls × 0.5%).
        func rows(callsPerMinute calls: Int64) -> [ReplaySource.Row] {
            (1...60).flatMap { Self.minute(Int64($0), calls: calls, errors: 1) }
        }
        // 3 errors in 462 calls: 1.3× a 0.5% budget, but credibly only 0.4×.
        let few = (1...6).flatMap { Self.minute(Int64($0), calls: 77, errors: $0 <= 3 ? 1 : 0) }
        #expect(try verdicts(rule, few)[[]]?.outcome == .normal)
        rule.credible = false
        #expect(try verdicts(rule, few)[[]]?.outcome == .alerting(.warning))
        rule.credible = true
        // At 0.9×, just under the factor: a firing alert holds, a quiet one stays quiet.
        let hovering = rows(callsPerMinute: 222)
        #expect(try verdicts(rule, hovering)[[]]?.outcome == .normal)
        #expect(try verdicts(rule, hovering, active: [[]: .warning])[[]]?.outcome == .alerting(.warning))
        // At 0.67× it resolves.
        #expect(try verdicts(rule, rows(callsPerMinute: 300), active: [[]: .warning])[[]]?.outcome == .normal)
    }

    @Test func newErrorFiresOnceForAPairNeverSeen() throws {
        var rule = AlertRule(name: "new")
        rule.kind = .newError
        let seenBefore = Self.minute(2 * 24 * 60, calls: 100, errors: 1)
        let fresh = Self.minute(1, calls: 100, errors: 1, type: "server_error", code: "overloaded", status: 503)
        let result = try verdicts(rule, seenBefore + Self.minute(2, calls: 100, errors: 1) + fresh)
        // The 429 pair was seen two days ago; the 503 pair is new.
        #expect(result[["shop", "gpt-4o", "rate_limit_error", "rate_limit_exceeded"]]?.outcome == .normal)
        #expect(result[["shop", "gpt-4o", "server_error", "overloaded"]]?.outcome == .alerting(.warning))
        // Once it leaves the window it is known, and the alert resolves.
        let later = try RuleEvaluator.evaluate(rule, at: Self.now + 10 * Self.minute, source: ReplaySource(rows: seenBefore + fresh),
                                               active: [["shop", "gpt-4o", "server_error", "overloaded"]: .warning])
        #expect(later[["shop", "gpt-4o", "server_error", "overloaded"]]?.outcome == .normal)
    }

    /// A fresh database, or an app or model that began calling within the learning period,
    /// has nothing to compare with: none of its errors is new until it has called for a day.
    @Test func newErrorWaitsForTheLearningPeriod() throws {
        var rule = AlertRule(name: "new")
        rule.kind = .newError
        let key = ["shop", "gpt-4o", "server_error", "overloaded"]
        let fresh = Self.minute(1, calls: 100, errors: 1, type: "server_error", code: "overloaded", status: 503)
        // Calling for ten hours, no error until now: still learning.
        let tenHours = (2...600).flatMap { Self.minute(Int64($0), calls: 10, errors: 0) }
        #expect(try verdicts(rule, tenHours + fresh)[key]?.outcome == .normal)
        // Another model's long history does not teach this one.
        let otherModel = Self.minute(2 * 24 * 60, model: "gpt-4o-mini", calls: 100, errors: 0)
        #expect(try verdicts(rule, otherModel + tenHours + fresh)[key]?.outcome == .normal)
        // Calling since before the learning period: new.
        let dayAndMore = Self.minute(24 * 60 + 10, calls: 10, errors: 0)
        #expect(try verdicts(rule, dayAndMore + tenHours + fresh)[key]?.outcome == .alerting(.warning))
        // learning: 0 judges from whatever history there is.
        rule.learningMs = 0
        #expect(try verdicts(rule, tenHours + fresh)[key]?.outcome == .alerting(.warning))
    }
}
