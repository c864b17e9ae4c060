import ErrWatchCore
import ErrWatchStore

extension Report {
    /// Alerts as they stand: one row per rule and group.
    public static func alerts(_ states: [AlertState], rules: [AlertRule] = []) -> Report {
        let byName = Dictionary(rules.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return Report(
            columns: ["rule", "state", "severity", "labels", "value", "shown", "threshold", "calls", "errors",
                      "active_since", "starts_at", "ends_at", "last_notified_at"],
            rows: states.map { alert in
                let rule = byName[alert.rule]
                return [
                    .text(alert.rule), .text(alert.phase.rawValue), .text(alert.severity.rawValue), .labels(alert.labels),
                    .number(alert.value, digits: 4), .text(AlertText.value(alert.value, rule: rule)), .number(alert.threshold, digits: 4),
                    .integer(alert.calls), .integer(alert.errors), .time(alert.activeSince), alert.startsAt.map(Cell.time) ?? .null,
                    alert.endsAt.map(Cell.time) ?? .null, alert.lastNotifiedAt.map(Cell.time) ?? .null,
                ]
            })
    }

    /// Alert events, with the sentence notifiers got.
    public static func alertHistory(_ events: [AlertEvent], rules: [AlertRule] = []) -> Report {
        let byName = Dictionary(rules.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return Report(
            columns: ["time", "rule", "event", "severity", "labels", "value", "threshold", "calls", "errors", "notified", "summary"],
            rows: events.map { event in
                let alert = event.alert
                return [
                    .time(event.at), .text(alert.rule), .text(event.kind.rawValue), .text(alert.severity.rawValue), .labels(alert.labels),
                    .number(alert.value, digits: 4), .number(alert.threshold, digits: 4), .integer(alert.calls), .integer(alert.errors),
                    // Worth a notification, and a rule with notifiers to send it (when the rule is known).
                    .bool(event.notify && (byName[alert.rule].map { !$0.notify.isEmpty } ?? true)),
                    .text(event.summary.isEmpty ? AlertText.summary(event, rule: byName[alert.rule]) : event.summary),
                ]
            })
    }

    /// What each rule would have done in a replay.
    public static func replay(_ summaries: [AlertReplay.Summary]) -> Report {
        Report(
            columns: ["rule", "fired", "resolved", "notifications", "flaps", "firing", "firing_ms"],
            rows: summaries.map { summary in
                [.text(summary.rule), .integer(Int64(summary.fired)), .integer(Int64(summary.resolved)),
                 .integer(Int64(summary.notifications)), .integer(Int64(summary.flaps)), .text(DurationText.format(summary.firingMs)),
                 .integer(summary.firingMs)]
            })
    }

    /// Rules as a configuration defines them, with their effective settings.
    public static func rules(_ rules: [AlertRule]) -> Report {
        func level(_ value: Double?, _ rule: AlertRule) -> Cell {
            value.map { .text(AlertText.value($0, rule: rule)) } ?? .null
        }
        return Report(
            columns: ["name", "kind", "metric", "where", "group_by", "window", "warning", "critical", "resolve", "min_calls",
                      "for", "repeat", "no_data", "notify"],
            rows: rules.map { rule in
                let scope = Dictionary(rule.scope.conditions.map { ($0.0.rawValue, $0.1.joined(separator: ",")) }, uniquingKeysWith: { a, _ in a })
                let window = switch rule.kind {
                case .burnRate:
                    rule.burnWindows.map { "\(DurationText.format($0.longMs))/\(DurationText.format($0.shortMs))@\(AlertText.value($0.factor, rule: rule))" }
                        .joined(separator: " ")
                case .hanging:
                    "in flight over \(DurationText.format(rule.hangingAfterMs))"
                case .newError:
                    "\(DurationText.format(rule.windowMs)), none in \(DurationText.format(rule.lookbackMs)), learning \(DurationText.format(rule.learningMs))"
                default:
                    DurationText.format(rule.windowMs)
                }
                return [
                    .text(rule.name), .text(rule.kind.rawValue), .text(rule.kind == .threshold ? rule.metric.rawValue : rule.kind.isTiming ? AlertText.percentileName(rule.percentile) : "-"), .labels(scope),
                    .text(rule.labelDimensions.map(\.rawValue).joined(separator: ",")), .text(window),
                    level(rule.warning, rule), level(rule.critical, rule), level([.threshold, .latency, .ttft, .hanging].contains(rule.kind) ? rule.resolveLevel : nil, rule),
                    .integer(rule.minCalls), .text(DurationText.format(rule.forMs)), rule.repeatMs.map { .text(DurationText.format($0)) } ?? .null,
                    .text(rule.noData.rawValue), .text(rule.notify.joined(separator: ",")),
                ]
            })
    }
}
