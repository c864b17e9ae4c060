/// Rules replayed over recorded counts, minute by minute, without sending anything: what
/// they would have done, to tune them on real history before deploying them.
public struct AlertReplay: Sendable {
    /// What one rule would have done.
    public struct Summary: Sendable, Hashable {
        public var rule: String
        /// Alerts that fired.
        public var fired = 0
        /// Alerts that resolved.
        public var resolved = 0
        /// Events notifiers would have been told about (firing, severity, repeat, resolved).
        public var notifications = 0
        /// Firings of a group less than ``flapWindowMs`` after its previous resolution.
        public var flaps = 0
        /// Time spent firing, summed over groups, in milliseconds.
        public var firingMs: Int64 = 0
    }

    /// A re-firing this soon after the same group resolved counts as a flap.
    public static let flapWindowMs: Int64 = Timestamp.hour

    /// Every event, in order.
    public var events: [AlertEvent] = []
    /// One summary per rule, in the rules' order.
    public var summaries: [Summary] = []

    /// Replays `rules` over `[since, until)` at each minute's start.
    public static func run(_ rules: [AlertRule], source: some AlertCountSource, since: Int64, until: Int64) -> AlertReplay {
        var states: [AlertEngine.Key: AlertState] = [:]
        var replay = AlertReplay()
        var summaries = Dictionary(uniqueKeysWithValues: rules.map { ($0.name, Summary(rule: $0.name)) })
        var lastResolved: [AlertEngine.Key: Int64] = [:]
        var firingSince: [AlertEngine.Key: Int64] = [:]
        var now = Timestamp.floor(since, to: Timestamp.minute)
        if now < since { now += Timestamp.minute }
        while now < until {
            let result = AlertEngine.evaluate(rules, at: now, source: source, states: &states)
            for event in result.events {
                let key = AlertEngine.Key(rule: event.alert.rule, group: event.alert.group)
                var summary = summaries[key.rule] ?? Summary(rule: key.rule)
                if event.notify { summary.notifications += 1 }
                switch event.kind {
                case .firing:
                    summary.fired += 1
                    if let resolvedAt = lastResolved[key], event.at - resolvedAt < flapWindowMs { summary.flaps += 1 }
                    firingSince[key] = event.at
                case .resolved:
                    summary.resolved += 1
                    lastResolved[key] = event.at
                    if let start = firingSince.removeValue(forKey: key) { summary.firingMs += event.at - start }
                default:
                    break
                }
                summaries[key.rule] = summary
            }
            replay.events += result.events
            now += Timestamp.minute
        }
        for (key, start) in firingSince {
            summaries[key.rule]?.firingMs += until - start
        }
        replay.summaries = rules.map { summaries[$0.name]! }
        return replay
    }
}
