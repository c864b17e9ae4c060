/// How alerts read to people: one sentence per event, and values in the rule's own units.
public enum AlertText {
    /// The group as `dimension=value` pairs in the rule's order, or "all calls".
    public static func group(_ alert: AlertState) -> String {
        let pairs = alert.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.isEmpty ? "(none)" : $0.value)" }
        return pairs.isEmpty ? "all calls" : pairs.joined(separator: " ")
    }

    /// The measure in the rule's units: "10.0%", "12 errors", "5.0×", "20.0× budget".
    public static func value(_ value: Double, rule: AlertRule?) -> String {
        switch (rule?.kind, rule?.metric) {
        case (.threshold?, .errorCount?), (.newError?, _): return "\(Int64(value.rounded())) errors"
        case (.change?, _): return value.isFinite ? "\(fixed(value, 1))×" : "∞×"
        case (.burnRate?, _): return "\(fixed(value, 1))× budget"
        case (.latency?, _), (.ttft?, _): return milliseconds(value)
        case (.hanging?, _): return "\(Int64(value.rounded())) calls"
        default: return percent(value)
        }
    }

    /// One sentence saying what happened.
    public static func summary(_ event: AlertEvent, rule: AlertRule?) -> String {
        let alert = event.alert
        let name = alert.rule
        let window = rule.map { DurationText.format($0.window(of: alert)) } ?? "?"
        let counts = "\(alert.errors) of \(alert.calls) calls in \(window)"
        let measured: String
        switch rule?.kind {
        case .newError?:
            let type = alert.labels["type"] ?? "?"
            let code = alert.labels["code"] ?? "?"
            let app = alert.labels["app"] ?? "?"
            let model = alert.labels["model"] ?? "?"
            let verb = event.kind == .resolved ? "is no longer new" : "appeared for the first time"
            return "\(name): error \(type)/\(code.isEmpty ? "(no code)" : code) \(verb) for app \(app), model \(model) (\(alert.errors) in \(window))."
        case .change?:
            measured = "error rate \(value(alert.value, rule: rule)) the \(rule?.compare == .day ? "same window a day earlier" : "previous window") (\(counts))"
        case .latency?, .ttft?:
            let limit = alert.threshold.map { " against \(value($0, rule: rule))" } ?? ""
            let slower = alert.threshold == nil ? "" : ", \(alert.errors) slower than that"
            let (what, calls) = rule?.kind == .ttft ? ("time to first token", "streams") : ("latency", "calls")
            measured = "\(percentileName(rule?.percentile ?? 0.95)) \(what) \(value(alert.value, rule: rule))\(limit) (\(alert.calls) \(calls) in \(window)\(slower))"
        case .hanging?:
            let after = DurationText.format(rule?.hangingAfterMs ?? 0)
            measured = "\(value(alert.value, rule: rule)) in flight for over \(after) (of \(alert.calls) in flight)"
        case .burnRate?:
            measured = "error budget burning at \(value(alert.value, rule: rule)) (\(alert.errors) of \(alert.calls) calls in \(window))"
        default:
            let limit = alert.threshold.map { " against \(value($0, rule: rule))" } ?? ""
            measured = "\(rule?.metric == .errorCount ? "error count" : "error rate") \(value(alert.value, rule: rule))\(limit) (\(counts))"
        }
        let scope = group(alert)
        switch event.kind {
        case .resolved, .cancelled: return "\(name) resolved for \(scope): \(measured)."
        case .severity: return "\(name) is now \(alert.severity.rawValue) for \(scope): \(measured)."
        case .repeat: return "\(name) is still \(alert.severity.rawValue) for \(scope): \(measured)."
        case .pending: return "\(name) is pending (\(alert.severity.rawValue)) for \(scope): \(measured)."
        case .firing: return "\(name) is \(alert.severity.rawValue) for \(scope): \(measured)."
        }
    }

    /// A duration in milliseconds as people read it: `850 ms`, `12.40 s`.
    public static func milliseconds(_ value: Double) -> String {
        value >= 1_000 ? "\(fixed(value / 1_000, 2)) s" : "\(Int64(value.rounded())) ms"
    }

    /// `0.95` → `p95`, `0.999` → `p99.9`.
    public static func percentileName(_ fraction: Double) -> String {
        let value = fraction * 100
        return value == value.rounded() ? "p\(Int(value))" : "p\(fixed(value, 1))"
    }

    /// `0.0523` → `5.23%`, with fewer digits for larger shares.
    public static func percent(_ share: Double) -> String {
        let value = share * 100
        return value >= 10 ? "\(fixed(value, 1))%" : "\(fixed(value, 2))%"
    }

    static func fixed(_ value: Double, _ digits: Int) -> String { NumberText.fixed(value, digits: digits) }
}
