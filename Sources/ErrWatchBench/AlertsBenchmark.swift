import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch bench alerts`: one evaluation of many rules over many groups, as the agent runs
/// it, timed against the evaluation interval.
public struct AlertsBenchmark: Sendable {
    /// Which kinds of rule the benchmark evaluates.
    public enum Mix: String, Sendable, CaseIterable {
        /// Threshold, change, burn-rate and new-error rules.
        case mixed
        /// Latency rules: p50 to p99 over windows of 5 minutes to 6 hours, from the histograms.
        case latency
    }

    /// Rules to evaluate.
    public var rules: Int
    /// Their kinds.
    public var mix: Mix = .mixed
    /// Models, one alert group each.
    public var groups: Int
    /// Days of minute counts, ending now.
    public var days: Int
    /// Evaluations to time.
    public var repetitions: Int

    /// A benchmark of `rules` rules over `groups` models and `days` days, timed `repetitions` times.
    public init(rules: Int, groups: Int, days: Int, repetitions: Int) {
        self.rules = rules
        self.groups = groups
        self.days = days
        self.repetitions = repetitions
    }

    /// Evaluates the rules `repetitions` times over `store` (see ``generate(into:now:)``), alert
    /// state carried from one evaluation to the next, and reports the median and the slowest.
    public func run(store: Store, now: Int64, progress: (String) -> Void) async throws -> Report {
        let ruleSet = makeRules()
        var states: [AlertEngine.Key: AlertState] = [:]
        var times: [Double] = []
        var events = 0
        for run in 0..<repetitions {
            var result = AlertEngine.Result()
            let at = now + Int64(run) * 15_000
            // As the agent does it: evaluate, then store what changed and the events.
            times.append(try await Measure.seconds {
                result = AlertEngine.evaluate(ruleSet, at: at, source: StoreCountSource(store: store), states: &states)
                _ = try store.saveAlerts(changes: result.changes, events: result.events)
            })
            if let failure = result.failures.first { throw BenchFailure("Rule \(failure.rule) failed: \(Store.describe(failure.error))") }
            events += result.events.count
            progress(String(format: "evaluation %d: %.1f ms, %d events", run + 1, times.last! * 1_000, result.events.count))
        }
        let interval = 15.0
        let firing = states.values.filter { $0.phase == .firing }.count
        return Report(
            columns: ["rules", "groups", "days", "alerts_firing", "median_ms", "max_ms", "interval_ms", "ratio"],
            rows: [[.integer(Int64(rules)), .integer(Int64(groups)), .integer(Int64(days)), .integer(Int64(firing)),
                    .number(Measure.median(times) * 1_000, digits: 1), .number(times.max()! * 1_000, digits: 1),
                    .number(interval * 1_000, digits: 0), .number(Measure.median(times) / interval, digits: 4)]]
        )
    }

    /// The rule mix: thresholds on a few windows and error types, changes against the previous
    /// window and the day before, burn rates for several SLOs, new errors.
    public func makeRules() -> [AlertRule] {
        (0..<rules).map { index in
            var rule = AlertRule(name: "rule-\(index)")
            rule.groupBy = [.model]
            if mix == .latency {
                rule.kind = .latency
                rule.percentile = [0.5, 0.9, 0.95, 0.99][index % 4]
                rule.windowMs = [5, 15, 60, 360][(index / 4) % 4] * Timestamp.minute
                rule.warning = 5_000 + Double(index % 5) * 1_000
                rule.critical = 30_000
                return rule
            }
            switch index % 5 {
            case 0, 1:
                rule.windowMs = [5, 15, 60, 360][index % 4] * Timestamp.minute
                rule.scope.types = [["rate_limit_error"], ["service_unavailable"], []][index % 3]
                rule.warning = 0.02 + Double(index % 7) * 0.005
                rule.critical = 0.10
            case 2:
                rule.kind = .change
                rule.compare = index % 2 == 0 ? .previous : .day
                rule.windowMs = [15, 60][index % 2] * Timestamp.minute
                rule.warning = 3
            case 3:
                rule.kind = .burnRate
                rule.slo = [0.99, 0.995, 0.999][index % 3]
            default:
                rule.kind = .newError
                rule.lookbackMs = [3, 7][index % 2] * Timestamp.day
            }
            return rule
        }
    }

    /// Minute counts through the store's own recording path, one record per series and minute.
    public func generate(into store: Store, now: Int64) throws {
        let minutes = days * 1_440
        let start = now - Int64(minutes) * Timestamp.minute
        let rateLimited = CallError(type: .rateLimit, code: "rate_limit_exceeded", message: "Rate limit reached.", retryable: true)
        let unavailable = CallError(type: .serviceUnavailable, code: "overloaded", message: "Overloaded.", retryable: true)
        let tooLong = CallError(type: .invalidRequest, code: "context_length_exceeded", message: "Too long.", retryable: false)
        var outcomes: [CallOutcome] = []
        for minute in 0..<minutes {
            let at = start + Int64(minute) * Timestamp.minute
            let recent = minutes - minute <= 30
            for group in 0..<groups where (minute + group) % 10 == 0 || (recent && group < 20) {
                // The bursting models are slow too (for latency rules); the rest answer in 400 ms.
                let latency: Int64 = recent && group < 20 ? 12_000 : 400
                func add(_ status: Int, _ error: CallError?, _ count: Int) {
                    outcomes.append(CallOutcome(timestamp: at, app: "bench", endpoint: "/v1/chat/completions", model: "model-\(group)",
                                                status: status, error: error, latencyMs: latency, count: count))
                }
                if recent && group < 20 {
                    add(200, nil, 50)
                    add(429, rateLimited, 30)
                    if group < 5, minutes - minute <= 3 { add(400, tooLong, 1) }
                    continue
                }
                add(200, nil, 50)
                if (minute / 10 + group) % 5 == 0 { add(429, rateLimited, 2) }
                if (minute / 10 + group) % 7 == 0 { add(503, unavailable, 1) }
            }
            if outcomes.count >= 20_000 || minute == minutes - 1 {
                try store.record(outcomes)
                outcomes.removeAll(keepingCapacity: true)
            }
        }
        try store.rollUp(now: now)
    }
}
