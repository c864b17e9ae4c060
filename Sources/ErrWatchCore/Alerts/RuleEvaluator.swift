/// Calls and errors of one group over a window.
public struct GroupCounts: Sendable, Hashable {
    public var calls: Int64
    public var errors: Int64

    /// `errors` of `calls`.
    public init(calls: Int64, errors: Int64) {
        self.calls = calls
        self.errors = errors
    }

    /// errors / calls, or nil without calls.
    public var rate: Double? { calls > 0 ? Double(errors) / Double(calls) : nil }
}

/// Where rules read their counts: the store for the live agent, minute series in memory for
/// a replay. Times are UTC milliseconds.
public protocol AlertCountSource {
    /// Per group of `groupBy` (values in that order), the calls and the errors in `scope` over
    /// `[from, to)`. `calls` counts every call of the group's app, endpoint and model, whatever
    /// its status, type or code; `errors` only those `scope` narrows to. A group keyed by status,
    /// type or code appears only when it has such errors.
    func counts(scope: RuleScope, groupBy: [Dimension], from: Int64, to: Int64) throws -> [[String]: GroupCounts]

    /// Per group of `groupBy`, the histogram of `timing` (its ``Histogram``'s buckets, the
    /// overflow last) of the calls of the group's app, endpoint and model over `[from, to)`;
    /// when `scope` narrows the errors (status, type, code, fault), of those errors only.
    func latencies(_ timing: Timing, scope: RuleScope, groupBy: [Dimension], from: Int64, to: Int64) throws -> [[String]: [Int64]]

    /// Per group of `groupBy` (app, endpoint, model: nothing else is known before a response),
    /// the calls in `scope` in flight at `now` (`calls`) and those among them in flight for at
    /// least `olderThan` (`errors`).
    func inflight(scope: RuleScope, groupBy: [Dimension], olderThan: Int64, at now: Int64) throws -> [[String]: GroupCounts]
}

/// What a rule says about one group at one moment.
public struct Verdict: Sendable, Hashable {
    /// What the verdict asks of the group's alert.
    public enum Outcome: Sendable, Hashable {
        /// Normal: resolve a firing alert, cancel a pending one.
        case normal
        /// Bad at this severity.
        case alerting(AlertSeverity)
        /// Too little evidence to change anything (fewer calls than min_calls).
        case hold
        /// No calls at all in the window.
        case noData
    }

    public var outcome: Outcome
    /// The measure: a rate, a count, a change factor or a burn rate, by rule kind.
    public var value: Double
    /// The level the measure is judged against (the one crossed, else the lowest).
    public var threshold: Double?
    public var calls: Int64
    public var errors: Int64

    /// A verdict on a group.
    public init(_ outcome: Outcome, value: Double, threshold: Double?, calls: Int64, errors: Int64) {
        self.outcome = outcome
        self.value = value
        self.threshold = threshold
        self.calls = calls
        self.errors = errors
    }
}

/// Applies rules to counts: pure arithmetic over what an ``AlertCountSource`` returns.
public enum RuleEvaluator {
    /// The verdict on every group the rule sees at `now`, and on every group in `active`
    /// (alerts pending or firing, with their severity) even if it has no calls any more.
    public static func evaluate(
        _ rule: AlertRule, at now: Int64, source: some AlertCountSource, active: [[String]: AlertSeverity]
    ) throws -> [[String]: Verdict] {
        switch rule.kind {
        case .threshold: try threshold(rule, now, source, active)
        case .change: try change(rule, now, source, active)
        case .burnRate: try burnRate(rule, now, source, active)
        case .newError: try newError(rule, now, source, active)
        case .latency, .ttft: try latency(rule, now, source, active)
        case .hanging: try hanging(rule, now, source, active)
        }
    }

    /// The lower bound of the Wilson score interval at 95% for `errors` of `calls`: the rate
    /// the observation credibly exceeds. 1 of 3 gives 6%, 10 of 100 gives 5.5%.
    public static func wilsonLowerBound(errors: Int64, calls: Int64, z: Double = 1.959964) -> Double {
        guard calls > 0 else { return 0 }
        let n = Double(calls)
        let p = Double(errors) / n
        let z2 = z * z
        let centre = p + z2 / (2 * n)
        let margin = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
        return max(0, (centre - margin) / (1 + z2 / n))
    }

    private static func threshold(
        _ rule: AlertRule, _ now: Int64, _ source: some AlertCountSource, _ active: [[String]: AlertSeverity]
    ) throws -> [[String]: Verdict] {
        let counts = try source.counts(scope: rule.scope, groupBy: rule.groupBy, from: now - rule.windowMs, to: now)
        var verdicts: [[String]: Verdict] = [:]
        for group in Set(counts.keys).union(active.keys) {
            let count = counts[group] ?? GroupCounts(calls: 0, errors: 0)
            let isRate = rule.metric == .errorRate
            let value = isRate ? (count.rate ?? 0) : Double(count.errors)
            let evidence = isRate && rule.credible ? wilsonLowerBound(errors: count.errors, calls: count.calls) : value
            let outcome = leveled(rule, current: active[group], calls: count.calls, value: value, evidence: evidence)
            verdicts[group] = Verdict(outcome, value: value, threshold: level(rule, of: outcome), calls: count.calls, errors: count.errors)
        }
        return verdicts
    }

    /// Warning and critical with hysteresis: entering a level takes `evidence` at or above it;
    /// leaving takes `value` below the resolve level (or, from critical to warning, below
    /// critical scaled by the same ratio as resolve to the lowest level).
    static func leveled(_ rule: AlertRule, current: AlertSeverity?, calls: Int64, value: Double, evidence: Double) -> Verdict.Outcome {
        if calls == 0 { return .noData }
        if calls < rule.minCalls { return current == nil ? .normal : .hold }
        var entered: AlertSeverity? = nil
        if let critical = rule.critical, evidence >= critical {
            entered = .critical
        } else if let warning = rule.warning, evidence >= warning {
            entered = .warning
        }
        guard let current else { return entered.map(Verdict.Outcome.alerting) ?? .normal }
        let lowest = [rule.warning, rule.critical].compactMap { $0 }.min() ?? 0
        let resolve = rule.resolveLevel ?? lowest
        if value < resolve { return .normal }
        var held = current
        if current == .critical, let critical = rule.critical, rule.warning != nil, lowest > 0,
           value < critical * (resolve / lowest) {
            held = .warning
        }
        return .alerting(max(held, entered ?? held))
    }

    private static func level(_ rule: AlertRule, of outcome: Verdict.Outcome) -> Double? {
        if case .alerting(let severity) = outcome {
            return severity == .critical ? (rule.critical ?? rule.warning) : (rule.warning ?? rule.critical)
        }
        return [rule.warning, rule.critical].compactMap { $0 }.min()
    }

    private static func change(
        _ rule: AlertRule, _ now: Int64, _ source: some AlertCountSource, _ active: [[String]: AlertSeverity]
    ) throws -> [[String]: Verdict] {
        let current = try source.counts(scope: rule.scope, groupBy: rule.groupBy, from: now - rule.windowMs, to: now)
        let shift = rule.compare == .day ? Timestamp.day : rule.windowMs
        let before = try source.counts(scope: rule.scope, groupBy: rule.groupBy, from: now - shift - rule.windowMs, to: now - shift)
        let factor = rule.warning ?? 2
        let resolveFactor = rule.resolve ?? factor * 0.8
        var verdicts: [[String]: Verdict] = [:]
        for group in Set(current.keys).union(active.keys) {
            let count = current[group] ?? GroupCounts(calls: 0, errors: 0)
            let rate = count.rate ?? 0
            let baseline = before[group]?.rate
            // No earlier calls: no baseline to change from. None of the earlier calls failed: any
            // failure now is an infinite change, still bounded by min_rate.
            let ratio: Double? = baseline.map { $0 > 0 ? rate / $0 : (rate > 0 ? .infinity : 0) }
            var outcome: Verdict.Outcome
            if count.calls == 0 {
                outcome = .noData
            } else if count.calls < rule.minCalls || ratio == nil {
                outcome = active[group] == nil ? .normal : .hold
            } else if active[group] == nil {
                outcome = rate >= rule.minRate && ratio! >= factor ? .alerting(rule.severity) : .normal
            } else {
                outcome = rate < rule.minRate * 0.8 || ratio! < resolveFactor ? .normal : .alerting(rule.severity)
            }
            verdicts[group] = Verdict(outcome, value: ratio ?? 0, threshold: factor, calls: count.calls, errors: count.errors)
        }
        return verdicts
    }

    /// The share of its factor a firing burn-rate pair must fall below to stop burning.
    static let burnResolveRatio = 0.8

    private static func burnRate(
        _ rule: AlertRule, _ now: Int64, _ source: some AlertCountSource, _ active: [[String]: AlertSeverity]
    ) throws -> [[String]: Verdict] {
        let budget = max(1 - rule.slo, 1e-9)
        var windows: [Int64: [[String]: GroupCounts]] = [:]
        for length in Set(rule.burnWindows.flatMap { [$0.longMs, $0.shortMs] }) {
            windows[length] = try source.counts(scope: rule.scope, groupBy: rule.groupBy, from: now - length, to: now)
        }
        let longest = rule.burnWindows.map(\.longMs).max() ?? 0
        var groups = Set(active.keys)
        for counts in windows.values { groups.formUnion(counts.keys) }
        var verdicts: [[String]: Verdict] = [:]
        for group in groups {
            func burn(_ length: Int64) -> (GroupCounts, Double) {
                let count = windows[length]?[group] ?? GroupCounts(calls: 0, errors: 0)
                return (count, (count.rate ?? 0) / budget)
            }
            var worst: (pair: AlertRule.BurnWindow, burn: Double, counts: GroupCounts)? = nil
            var highestBurn = 0.0
            for pair in rule.burnWindows {
                let (long, longBurn) = burn(pair.longMs)
                let (_, shortBurn) = burn(pair.shortMs)
                highestBurn = max(highestBurn, longBurn)
                // A pair at or below the severity already firing holds it down to 80% of its
                // factor (hysteresis, as threshold rules resolve); entering a pair takes a
                // long window whose burn is credible (its Wilson lower bound), so that 1 error in
                // 255 calls does not page against a 0.5% budget.
                let holding = active[group].map { pair.severity <= $0 } ?? false
                let level = holding ? pair.factor * burnResolveRatio : pair.factor
                let evidence = holding || !rule.credible ? longBurn : wilsonLowerBound(errors: long.errors, calls: long.calls) / budget
                guard long.calls >= rule.minCalls, evidence >= level, shortBurn >= level else { continue }
                if worst == nil || pair.severity > worst!.pair.severity {
                    worst = (pair, longBurn, long)
                }
            }
            let whole = windows[longest]?[group] ?? GroupCounts(calls: 0, errors: 0)
            if let worst {
                verdicts[group] = Verdict(.alerting(worst.pair.severity), value: worst.burn, threshold: worst.pair.factor,
                                          calls: worst.counts.calls, errors: worst.counts.errors)
            } else {
                verdicts[group] = Verdict(whole.calls == 0 ? .noData : .normal, value: highestBurn,
                                          threshold: rule.burnWindows.map(\.factor).min(), calls: whole.calls, errors: whole.errors)
            }
        }
        return verdicts
    }

    /// The rule's percentile of the window's latency histogram per group, estimated within its
    /// bucket (``Histogram/quantile(_:counts:)``), against levels in milliseconds with
    /// the threshold rule's hysteresis and `min_calls`; `errors` in the verdict are the calls
    /// slower than the level crossed (or the lowest), to say how many were slow.
    private static func latency(
        _ rule: AlertRule, _ now: Int64, _ source: some AlertCountSource, _ active: [[String]: AlertSeverity]
    ) throws -> [[String]: Verdict] {
        let timing = rule.kind == .ttft ? Timing.firstToken : .latency
        let histograms = try source.latencies(timing, scope: rule.scope, groupBy: rule.groupBy, from: now - rule.windowMs, to: now)
        var verdicts: [[String]: Verdict] = [:]
        for group in Set(histograms.keys).union(active.keys) {
            let counts = histograms[group] ?? []
            let calls = counts.reduce(0, +)
            let value = timing.histogram.quantile(rule.percentile, counts: counts) ?? 0
            let outcome = leveled(rule, current: active[group], calls: calls, value: value, evidence: value)
            let threshold = level(rule, of: outcome)
            let slow = threshold.map { timing.histogram.calls(above: $0, counts: counts) } ?? 0
            verdicts[group] = Verdict(outcome, value: value, threshold: threshold, calls: calls, errors: slow)
        }
        return verdicts
    }

    /// The calls in flight longer than `after` per group, against levels that count them
    /// (warning 1 by default). A group with nothing hanging is normal, whatever else is in
    /// flight: an alert resolves as soon as the hanging calls end.
    private static func hanging(
        _ rule: AlertRule, _ now: Int64, _ source: some AlertCountSource, _ active: [[String]: AlertSeverity]
    ) throws -> [[String]: Verdict] {
        let counts = try source.inflight(scope: rule.scope, groupBy: rule.groupBy, olderThan: rule.hangingAfterMs, at: now)
        var counting = rule
        counting.minCalls = 0
        var verdicts: [[String]: Verdict] = [:]
        for group in Set(counts.keys).union(active.keys) {
            let count = counts[group] ?? GroupCounts(calls: 0, errors: 0)
            let value = Double(count.errors)
            let outcome = count.errors == 0 ? .normal : leveled(counting, current: active[group], calls: count.calls, value: value, evidence: value)
            verdicts[group] = Verdict(outcome, value: value, threshold: level(rule, of: outcome), calls: count.calls, errors: count.errors)
        }
        return verdicts
    }

    private static func newError(
        _ rule: AlertRule, _ now: Int64, _ source: some AlertCountSource, _ active: [[String]: AlertSeverity]
    ) throws -> [[String]: Verdict] {
        let dimensions = AlertRule.newErrorDimensions
        let recent = try source.counts(scope: rule.scope, groupBy: dimensions, from: now - rule.windowMs, to: now)
        let earlier = try source.counts(scope: rule.scope, groupBy: dimensions, from: now - rule.lookbackMs, to: now - rule.windowMs)
        // Apps and models that were calling before the learning period: only theirs can be new.
        let learned = rule.learningMs == 0 ? nil : try source.counts(
            scope: rule.scope.callSide, groupBy: [.app, .model], from: now - rule.lookbackMs, to: now - rule.windowMs - rule.learningMs)
        var verdicts: [[String]: Verdict] = [:]
        for group in Set(recent.keys).union(active.keys) {
            let count = recent[group] ?? GroupCounts(calls: 0, errors: 0)
            // A group is [app, model, type, code] (AlertRule.newErrorDimensions): its first two key `learned`.
            let known = learned.map { ($0[Array(group.prefix(2))]?.calls ?? 0) > 0 } ?? true
            let isNew = known && count.errors > 0 && (earlier[group]?.errors ?? 0) == 0
            verdicts[group] = Verdict(isNew ? .alerting(rule.severity) : .normal, value: Double(count.errors), threshold: 1,
                                      calls: count.calls, errors: count.errors)
        }
        return verdicts
    }
}
