/// Where an alert is in its life: pending (bad, waiting out `for`), firing, or resolved.
public enum AlertPhase: String, Sendable, Hashable, CaseIterable, Codable {
    case pending, firing, resolved

    /// A comma list of phases, where `active` is pending and firing; nil or empty is all.
    /// `name` names the parameter in the error (`--state` or `state`).
    public static func parseList(_ text: String?, name: String) throws(ErrWatchError) -> Set<AlertPhase> {
        guard let text, !text.isEmpty else { return Set(allCases) }
        var phases = Set<AlertPhase>()
        for part in text.split(separator: ",") {
            if part == "active" {
                phases.formUnion([.pending, .firing])
            } else if let phase = AlertPhase(rawValue: String(part)) {
                phases.insert(phase)
            } else {
                throw ErrWatchError(.invalidArgument, "Invalid \(name) '\(part)'; give pending, firing, resolved or active.")
            }
        }
        return phases
    }
}

/// The alert of one rule for one group, as stored between evaluations.
public struct AlertState: Sendable, Hashable {
    public var rule: String
    /// The group's values, in the order of the rule's label dimensions.
    public var group: [String]
    /// The group as `dimension: value`.
    public var labels: [String: String]
    public var phase: AlertPhase
    public var severity: AlertSeverity
    /// The latest verdict's figures.
    public var value: Double
    public var threshold: Double?
    public var calls: Int64
    public var errors: Int64
    /// When the condition first held (pending began).
    public var activeSince: Int64
    /// When it fired; nil while pending.
    public var startsAt: Int64?
    /// When it resolved; nil until then.
    public var endsAt: Int64?
    /// When notifiers were last told about it.
    public var lastNotifiedAt: Int64?
    /// When this state was last evaluated.
    public var updatedAt: Int64

    /// A state with every field given.
    public init(
        rule: String, group: [String], labels: [String: String], phase: AlertPhase, severity: AlertSeverity,
        value: Double, threshold: Double?, calls: Int64, errors: Int64, activeSince: Int64,
        startsAt: Int64?, endsAt: Int64?, lastNotifiedAt: Int64?, updatedAt: Int64
    ) {
        self.rule = rule
        self.group = group
        self.labels = labels
        self.phase = phase
        self.severity = severity
        self.value = value
        self.threshold = threshold
        self.calls = calls
        self.errors = errors
        self.activeSince = activeSince
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.lastNotifiedAt = lastNotifiedAt
        self.updatedAt = updatedAt
    }

    /// Pending or firing.
    public var isActive: Bool { phase != .resolved }
}

/// Something that happened to an alert, kept as its history and, where `notify` says so,
/// sent to the rule's notifiers.
public struct AlertEvent: Sendable, Hashable {
    /// What happened.
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        /// The condition began to hold; waiting out `for`.
        case pending
        /// The condition stopped holding before `for` was out: nothing was sent.
        case cancelled
        /// The alert fired.
        case firing
        /// A firing alert changed severity.
        case severity
        /// A firing alert was still firing after `repeat`.
        case `repeat`
        /// The alert resolved.
        case resolved
    }

    public var kind: Kind
    /// The alert after the event.
    public var alert: AlertState
    /// When it happened.
    public var at: Int64
    /// Whether notifiers are told.
    public var notify: Bool
    /// The sentence people read, written when it happened (the rule may change later).
    public var summary: String

    /// An event of `kind` at `at`.
    public init(kind: Kind, alert: AlertState, at: Int64, notify: Bool, summary: String = "") {
        self.kind = kind
        self.alert = alert
        self.at = at
        self.notify = notify
        self.summary = summary
    }

    /// `firing` or `resolved`, as webhooks and Alertmanager say it.
    public var status: String { alert.phase == .resolved ? "resolved" : "firing" }
}

/// The alert state machine: inactive → pending → firing → resolved, one step per evaluation.
public enum AlertStateMachine {
    /// The state after `verdict` at `now`, and what happened on the way. `state` is the stored
    /// alert of this rule and group, nil or resolved when none is active.
    public static func step(
        _ state: AlertState?, verdict: Verdict, rule: AlertRule, group: [String], now: Int64
    ) -> (state: AlertState?, events: [AlertEvent]) {
        let active = state.flatMap { $0.isActive ? $0 : nil }
        var outcome = verdict.outcome
        if outcome == .noData {
            switch rule.noData {
            case .keep: outcome = .hold
            case .resolve: outcome = .normal
            case .alert: outcome = .alerting(.critical)
            }
        }
        func updated(_ alert: AlertState) -> AlertState {
            var alert = alert
            alert.value = verdict.value
            alert.threshold = verdict.threshold
            alert.calls = verdict.calls
            alert.errors = verdict.errors
            alert.updatedAt = now
            return alert
        }
        switch (active, outcome) {
        case (nil, .alerting(let severity)):
            let labels = Dictionary(uniqueKeysWithValues: zip(rule.labelDimensions.map(\.rawValue), group))
            var alert = updated(AlertState(
                rule: rule.name, group: group, labels: labels, phase: .pending, severity: severity, value: 0,
                threshold: nil, calls: 0, errors: 0, activeSince: now, startsAt: nil, endsAt: nil,
                lastNotifiedAt: nil, updatedAt: now))
            if rule.forMs > 0 {
                return (alert, [AlertEvent(kind: .pending, alert: alert, at: now, notify: false)])
            }
            alert.phase = .firing
            alert.startsAt = now
            alert.lastNotifiedAt = now
            return (alert, [AlertEvent(kind: .firing, alert: alert, at: now, notify: true)])
        case (nil, _):
            return (state, [])
        case (var alert?, .hold):
            alert.updatedAt = now
            return (alert, [])
        case (let alert?, .normal), (let alert?, .noData):
            var ended = updated(alert)
            if alert.phase == .pending {
                ended.phase = .resolved
                ended.endsAt = now
                return (nil, [AlertEvent(kind: .cancelled, alert: ended, at: now, notify: false)])
            }
            ended.phase = .resolved
            ended.endsAt = now
            if rule.sendResolved { ended.lastNotifiedAt = now }
            return (ended, [AlertEvent(kind: .resolved, alert: ended, at: now, notify: rule.sendResolved)])
        case (let alert?, .alerting(let severity)):
            var next = updated(alert)
            if alert.phase == .pending {
                // Pending keeps the worst severity it has seen, so it fires at the level it reached.
                next.severity = max(alert.severity, severity)
                guard now - alert.activeSince >= rule.forMs else { return (next, []) }
                next.severity = severity
                next.phase = .firing
                next.startsAt = now
                next.lastNotifiedAt = now
                return (next, [AlertEvent(kind: .firing, alert: next, at: now, notify: true)])
            }
            if severity != alert.severity {
                next.severity = severity
                next.lastNotifiedAt = now
                return (next, [AlertEvent(kind: .severity, alert: next, at: now, notify: true)])
            }
            if let repeatMs = rule.repeatMs, now - (alert.lastNotifiedAt ?? alert.startsAt ?? now) >= repeatMs {
                next.lastNotifiedAt = now
                return (next, [AlertEvent(kind: .repeat, alert: next, at: now, notify: true)])
            }
            return (next, [])
        }
    }
}
