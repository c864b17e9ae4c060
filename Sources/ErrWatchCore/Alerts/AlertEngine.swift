/// One evaluation of a set of rules: verdicts from the counts, steps of the state machine,
/// and the alerts and events that changed. Pure: the caller stores and sends the results.
public enum AlertEngine {
    /// What one evaluation changed.
    public struct Result: Sendable {
        /// The alerts to store; a nil state removes the rule and group's alert.
        public var changes: [(rule: String, group: [String], state: AlertState?)] = []
        /// What happened, in order.
        public var events: [AlertEvent] = []
        /// Rules that could not be evaluated, with why (the others still were).
        public var failures: [(rule: String, error: any Error)] = []

        /// Nothing changed.
        public init() {}
    }

    /// The key an alert is filed under.
    public struct Key: Sendable, Hashable {
        public var rule: String
        public var group: [String]

        /// The alert of `rule` for `group`.
        public init(rule: String, group: [String]) {
            self.rule = rule
            self.group = group
        }
    }

    /// Evaluates `rules` at `now` against `source`, stepping `states` (every stored alert,
    /// by key) and updating them in place.
    public static func evaluate(
        _ rules: [AlertRule], at now: Int64, source: some AlertCountSource, states: inout [Key: AlertState]
    ) -> Result {
        var result = Result()
        let ruleNames = Set(rules.map(\.name))
        for rule in rules {
            var active: [[String]: AlertSeverity] = [:]
            for (key, state) in states where key.rule == rule.name && state.isActive {
                active[key.group] = state.severity
            }
            let verdicts: [[String]: Verdict]
            do {
                verdicts = try RuleEvaluator.evaluate(rule, at: now, source: source, active: active)
            } catch {
                result.failures.append((rule.name, error))
                continue
            }
            // Sorted so that events come out in the same order every time.
            for group in verdicts.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                let key = Key(rule: rule.name, group: group)
                let before = states[key]
                let (after, events) = AlertStateMachine.step(before, verdict: verdicts[group]!, rule: rule, group: group, now: now)
                guard after != before else { continue }
                states[key] = after
                // A hold only moves updatedAt; storing it every evaluation would be churn.
                if events.isEmpty, let before, let after, before.phase == after.phase, before.severity == after.severity,
                   before.lastNotifiedAt == after.lastNotifiedAt, before.value == after.value {
                    continue
                }
                result.changes.append((rule.name, group, after))
                result.events += events.map { event in
                    var event = event
                    event.summary = AlertText.summary(event, rule: rule)
                    return event
                }
            }
        }
        // Alerts of rules that are gone (a reload removed them) resolve without notifying.
        for (key, state) in states where state.isActive && !ruleNames.contains(key.rule) {
            var ended = state
            ended.phase = .resolved
            ended.endsAt = now
            ended.updatedAt = now
            states[key] = ended
            result.changes.append((key.rule, key.group, ended))
            result.events.append(AlertEvent(kind: state.phase == .pending ? .cancelled : .resolved, alert: ended, at: now, notify: false,
                                            summary: "\(key.rule) ended for \(AlertText.group(ended)): the rule was removed."))
        }
        return result
    }
}
