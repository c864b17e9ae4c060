import ErrWatchCore
import Foundation
import Yams

/// Where alert notifications go.
public struct NotifierConfiguration: Sendable, Hashable {
    /// How a notifier delivers.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case webhook, slack, alertmanager, command, log
    }

    public var name: String
    public var kind: Kind
    /// The receiver (webhook, slack: the full URL; alertmanager: its base URL).
    public var url: String?
    /// The program and its arguments (command).
    public var command: [String] = []
    /// A file to append to (log); nil writes to standard output.
    public var path: String?
    /// How long one attempt may take.
    public var timeoutMs: Int64 = 10_000
    /// Attempts per event before giving up.
    public var maxAttempts = 5
    /// The first retry's delay; each next one doubles, with jitter.
    public var backoffMs: Int64 = 1_000

    /// A notifier of `kind` named `name`, with the defaults.
    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

/// The alerting part of the agent's configuration: how often rules run, where they notify.
public struct AlertsConfiguration: Sendable, Hashable {
    /// How often the rules are evaluated.
    public var evaluationIntervalMs: Int64 = 15_000
    /// The agent's URL as people reach it, for links in notifications; nil uses the listen address.
    public var externalURL: String?
    public var notifiers: [NotifierConfiguration] = []
    public var rules: [AlertRule] = []
    /// Scheduled summaries (``DigestConfiguration``).
    public var digests: [DigestConfiguration] = []

    /// No rules, no notifiers.
    public init() {}

    /// The settings a rule takes, for error messages.
    static let ruleKeys = [
        "name", "kind", "metric", "where", "group_by", "window", "warning", "critical", "resolve", "min_calls", "credible",
        "for", "repeat", "notify", "send_resolved", "no_data", "compare", "factor", "min_rate", "slo", "period", "windows",
        "lookback", "learning", "severity", "percentile", "after",
    ]
    static let notifierKeys = ["name", "kind", "url", "command", "path", "timeout", "max_attempts", "backoff"]

    /// Reads the `notifiers` list of a configuration file.
    mutating func applyNotifiers(_ node: Node, path: String) throws(ErrWatchError) {
        notifiers = []
        for item in try Self.sequence(node, what: "notifiers", path: path) {
            let fields = try Self.mapping(item, what: "a notifier", path: path)
            let line = Self.line(item)
            func at(_ key: String) -> String { "\(path) line \(fields[key]?.line ?? line)" }
            guard let name = fields["name"]?.text, !name.isEmpty else {
                throw ErrWatchError(.configuration, "A notifier (\(path) line \(line)) has no name; give each one a name: that rules notify.")
            }
            guard !notifiers.contains(where: { $0.name == name }) else {
                throw ErrWatchError(.configuration, "Notifier '\(name)' (\(at("name"))) is defined twice; give each notifier its own name.")
            }
            let kindText = fields["kind"]?.text ?? ""
            guard let kind = NotifierConfiguration.Kind(rawValue: kindText) else {
                throw ErrWatchError(.configuration,
                    "Unknown kind '\(kindText)' of notifier '\(name)' (\(at("kind"))); use one of: \(NotifierConfiguration.Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            var notifier = NotifierConfiguration(name: name, kind: kind)
            for (key, field) in fields {
                let origin = "notifier '\(name)' (\(path) line \(field.line))"
                switch key {
                case "name", "kind": break
                case "url":
                    guard let url = URL(string: field.text ?? ""), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                        throw ErrWatchError(.configuration, "Invalid url '\(field.text ?? "")' of \(origin); give an http or https URL.")
                    }
                    notifier.url = field.text
                case "command":
                    if let text = field.text {
                        notifier.command = text.split(separator: " ").map(String.init)
                    } else if let list = field.node.sequence {
                        notifier.command = list.compactMap { $0.scalar?.string }
                    }
                    guard !notifier.command.isEmpty else {
                        throw ErrWatchError(.configuration, "Empty command of \(origin); give the program and its arguments as a list.")
                    }
                case "path": notifier.path = field.text
                case "timeout", "backoff":
                    guard let text = field.text, let value = DurationText.milliseconds(text), value > 0 else {
                        throw ErrWatchError(.configuration, "Invalid \(key) '\(field.text ?? "")' of \(origin); give a duration such as 10s.")
                    }
                    if key == "timeout" { notifier.timeoutMs = value } else { notifier.backoffMs = value }
                case "max_attempts":
                    guard let value = Int(field.text ?? ""), (1...20).contains(value) else {
                        throw ErrWatchError(.configuration, "Invalid max_attempts '\(field.text ?? "")' of \(origin); give a number from 1 to 20.")
                    }
                    notifier.maxAttempts = value
                default:
                    throw ErrWatchError(.configuration,
                        "Unknown setting '\(key)' in \(origin); notifiers take: \(Self.notifierKeys.joined(separator: ", ")).")
                }
            }
            if [.webhook, .slack, .alertmanager].contains(kind), notifier.url == nil {
                throw ErrWatchError(.configuration, "Notifier '\(name)' (\(path) line \(line)) of kind \(kind.rawValue) needs a url.")
            }
            if kind == .command, notifier.command.isEmpty {
                throw ErrWatchError(.configuration, "Notifier '\(name)' (\(path) line \(line)) of kind command needs a command.")
            }
            notifiers.append(notifier)
        }
    }

    /// Reads the `rules` list of a configuration file; notifiers must be read first.
    mutating func applyRules(_ node: Node, path: String) throws(ErrWatchError) {
        rules = []
        for item in try Self.sequence(node, what: "rules", path: path) {
            let fields = try Self.mapping(item, what: "a rule", path: path)
            let line = Self.line(item)
            guard let name = fields["name"]?.text, !name.isEmpty else {
                throw ErrWatchError(.configuration, "A rule (\(path) line \(line)) has no name; give each rule a name.")
            }
            guard !rules.contains(where: { $0.name == name }) else {
                throw ErrWatchError(.configuration, "Rule '\(name)' (\(path) line \(line)) is defined twice; give each rule its own name.")
            }
            var rule = AlertRule(name: name)
            // The kind and metric first: they decide how levels read.
            for key in ["kind", "metric"] {
                guard let field = fields[key] else { continue }
                let origin = "rule '\(name)' (\(path) line \(field.line))"
                if key == "kind" {
                    guard let kind = AlertRule.Kind(rawValue: field.text ?? "") else {
                        throw ErrWatchError(.configuration, "Unknown kind '\(field.text ?? "")' of \(origin); use one of: \(AlertRule.Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
                    }
                    rule.kind = kind
                } else {
                    guard let metric = AlertRule.Metric(rawValue: field.text ?? "") else {
                        throw ErrWatchError(.configuration, "Unknown metric '\(field.text ?? "")' of \(origin); use error_rate or error_count.")
                    }
                    rule.metric = metric
                }
            }
            if rule.kind == .newError { rule.sendResolved = false }
            // One hanging call is worth knowing of.
            if rule.kind == .hanging, fields["warning"] == nil, fields["critical"] == nil { rule.warning = 1 }
            for (key, field) in fields.sorted(by: { $0.value.line < $1.value.line }) {
                try apply(key, field, to: &rule, origin: "rule '\(name)' (\(path) line \(field.line))")
            }
            // The Workbook's factors spend fixed shares of a 30-day budget; a shorter or longer
            // period spends the same shares at proportionally lower or higher burn rates.
            if rule.kind == .burnRate, fields["windows"] == nil, rule.periodMs != 30 * Timestamp.day {
                let scale = Double(rule.periodMs) / Double(30 * Timestamp.day)
                rule.burnWindows = rule.burnWindows.map { pair in
                    var pair = pair
                    pair.factor = (pair.factor * scale * 1_000).rounded() / 1_000
                    return pair
                }
            }
            try check(rule, origin: "rule '\(name)' (\(path) line \(line))")
            rules.append(rule)
        }
    }

    private func apply(_ key: String, _ field: Field, to rule: inout AlertRule, origin: String) throws(ErrWatchError) {
        func invalid(_ what: String) -> ErrWatchError {
            ErrWatchError(.configuration, "Invalid \(key) '\(field.text ?? "…")' of \(origin); \(what).")
        }
        func duration() throws(ErrWatchError) -> Int64 {
            guard let text = field.text, let value = DurationText.milliseconds(text), value > 0 else {
                throw invalid("give a duration such as 5m, 1h or 30d")
            }
            return value
        }
        /// A duration that may be zero (`0`, `0s`, `0m`), as `for` and `learning` may.
        func durationOrZero() throws(ErrWatchError) -> Int64 {
            DurationText.milliseconds(field.text ?? "") == 0 || field.text == "0" ? 0 : try duration()
        }
        func share() throws(ErrWatchError) -> Double {
            guard let value = field.text.flatMap(Share.parse) else { throw invalid("give a percentage such as 2% or a fraction such as 0.02") }
            return value
        }
        func flag() throws(ErrWatchError) -> Bool {
            guard let value = ["true": true, "false": false][field.text?.lowercased() ?? ""] else { throw invalid("give true or false") }
            return value
        }
        /// A level: a share for rates, a count for counts, a factor for change rules.
        func level() throws(ErrWatchError) -> Double {
            if rule.kind == .threshold && rule.metric == .errorRate { return try share() }
            if rule.kind.isTiming {
                guard let text = field.text, let value = DurationText.milliseconds(text), value > 0 else {
                    throw invalid("give a duration such as 800ms, 10s or 1m")
                }
                return Double(value)
            }
            guard let text = field.text, let value = Double(text.hasSuffix("x") ? String(text.dropLast()) : text), value >= 0, value.isFinite else {
                throw invalid(rule.kind == .change ? "give a factor such as 3"
                              : rule.kind == .hanging ? "give a number of calls such as 1" : "give a number of errors such as 50")
            }
            return value
        }
        switch key {
        case "name", "kind", "metric": break
        case "where": rule.scope = try scope(field, origin: origin)
        case "group_by":
            do { rule.groupBy = try Dimension.parseList(field.list.joined(separator: ",")) } catch { throw invalid(error.message) }
        case "window": rule.windowMs = try duration()
        case "for": rule.forMs = try durationOrZero()
        case "repeat": rule.repeatMs = try duration()
        case "period": rule.periodMs = try duration()
        case "lookback": rule.lookbackMs = try duration()
        case "after": rule.hangingAfterMs = try duration()
        case "learning": rule.learningMs = try durationOrZero()
        case "warning": rule.warning = try level()
        case "critical": rule.critical = try level()
        case "factor": rule.warning = try level()
        case "resolve": rule.resolve = try level()
        case "min_rate": rule.minRate = try share()
        case "percentile":
            let text = field.text ?? ""
            guard text.hasPrefix("p"), let value = Double(text.dropFirst()), value > 0, value < 100 else {
                throw invalid("give p50, p90, p95 or p99 (any pNN between p1 and p99.9)")
            }
            rule.percentile = value / 100
        case "slo":
            let value = try share()
            guard value > 0, value < 1 else { throw invalid("give a target between 0 and 100% such as 99.5%") }
            rule.slo = value
        case "min_calls":
            guard let value = Int64(field.text ?? ""), value >= 0 else { throw invalid("give a whole number such as 20") }
            rule.minCalls = value
        case "credible": rule.credible = try flag()
        case "send_resolved": rule.sendResolved = try flag()
        case "notify":
            try checkNotifiers(field.list, origin: origin)
            rule.notify = field.list
        case "no_data":
            guard let value = AlertRule.NoData(rawValue: field.text ?? "") else { throw invalid("use keep, resolve or alert") }
            rule.noData = value
        case "compare":
            guard let value = AlertRule.Compare(rawValue: field.text ?? "") else { throw invalid("use previous or day") }
            rule.compare = value
        case "severity":
            guard let value = AlertSeverity(rawValue: field.text ?? "") else { throw invalid("use warning or critical") }
            rule.severity = value
        case "windows":
            guard let list = field.node.sequence, !list.isEmpty else { throw invalid("give a list of {long, short, factor, severity}") }
            var pairs: [AlertRule.BurnWindow] = []
            for item in list {
                let values = Dictionary(item.mapping?.compactMap { key, value in key.string.map { ($0, value.scalar?.string ?? "") } } ?? [],
                                        uniquingKeysWith: { first, _ in first })
                guard let long = values["long"].flatMap(DurationText.milliseconds), let short = values["short"].flatMap(DurationText.milliseconds),
                      short > 0, short <= long, let factor = values["factor"].flatMap(Double.init), factor > 0,
                      let severity = AlertSeverity(rawValue: values["severity"] ?? "critical")
                else { throw invalid("each window pair needs long and short durations (short ≤ long), a factor > 0 and a severity") }
                pairs.append(AlertRule.BurnWindow(longMs: long, shortMs: short, factor: factor, severity: severity))
            }
            rule.burnWindows = pairs
        default:
            throw ErrWatchError(.configuration, "Unknown setting '\(key)' in \(origin); rules take: \(Self.ruleKeys.joined(separator: ", ")).")
        }
    }

    private func scope(_ field: Field, origin: String) throws(ErrWatchError) -> RuleScope {
        guard let mapping = field.node.mapping else {
            throw ErrWatchError(.configuration, "Invalid where of \(origin); give a mapping such as {type: rate_limit_error}.")
        }
        var scope = RuleScope()
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? ""
            let values = valueNode.scalar.map { [$0.string] } ?? (valueNode.sequence?.compactMap { $0.scalar?.string } ?? [])
            guard !values.isEmpty else {
                throw ErrWatchError(.configuration, "Empty where.\(key) in \(origin); give a value or a list of values.")
            }
            switch Dimension(rawValue: key) {
            case .app: scope.apps = values
            case .endpoint: scope.endpoints = values
            case .model: scope.models = values
            case .upstream: scope.upstreams = values
            case .provider: scope.providers = values
            case .host: scope.hosts = values
            case .type: scope.types = values
            case .code: scope.codes = values
            case .fault:
                if let unknown = values.first(where: { Fault(rawValue: $0) == nil }) {
                    throw ErrWatchError(.configuration,
                        "Unknown fault '\(unknown)' in \(origin); use any of: \(Fault.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                scope.faults = values
            case .status:
                var statuses: [Int] = []
                for value in values {
                    guard let matched = StatusPattern.statuses(value) else {
                        throw ErrWatchError(.configuration, "Invalid where.status '\(value)' in \(origin); \(StatusPattern.advice).")
                    }
                    statuses += matched
                }
                scope.statuses = statuses
            case nil:
                throw ErrWatchError(.configuration,
                    "Unknown where key '\(key)' in \(origin); filter on any of: \(Dimension.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
        }
        return scope
    }

    private func check(_ rule: AlertRule, origin: String) throws(ErrWatchError) {
        switch rule.kind {
        case .threshold, .latency, .ttft:
            guard rule.warning != nil || rule.critical != nil else {
                throw ErrWatchError(.configuration, "The \(rule.kind.rawValue) \(origin) needs a warning or a critical level.")
            }
            if let warning = rule.warning, let critical = rule.critical, critical < warning {
                throw ErrWatchError(.configuration, "The \(origin) has critical below warning; critical must be the higher level.")
            }
            if let resolve = rule.resolve, let lowest = [rule.warning, rule.critical].compactMap({ $0 }).min(), resolve > lowest {
                throw ErrWatchError(.configuration, "The \(origin) resolves above its lowest level; set resolve at or below it.")
            }
        case .change:
            guard rule.warning != nil else {
                throw ErrWatchError(.configuration, "The change \(origin) needs a factor, such as factor: 3.")
            }
        case .newError:
            guard rule.windowMs + rule.learningMs < rule.lookbackMs else {
                let needed = DurationText.format(rule.windowMs + rule.learningMs)
                throw ErrWatchError(.configuration, "The new_error \(origin) looks back no further than its window and learning period "
                                    + "(\(needed)); set lookback longer than that.")
            }
        case .burnRate:
            break
        case .hanging:
            // Before a response only the call's side is known (app, endpoint, model, upstream, provider, host).
            let known = Set(ErrWatchCore.Dimension.callSide)
            if let other = rule.groupBy.first(where: { !known.contains($0) }) ?? rule.scope.conditions.map(\.0).first(where: { !known.contains($0) }) {
                throw ErrWatchError(.configuration,
                    "The hanging \(origin) uses \(other.rawValue), which a call in flight does not have yet; group and filter by app, endpoint, model, upstream, provider or host.")
            }
        }
    }

    // MARK: YAML helpers

    struct Field {
        var node: Node
        var line: Int
        var text: String? { node.scalar?.string }
        /// One value or a list of them (`notify: ops` or `notify: [ops, pager]`).
        var list: [String] { text.map { [$0] } ?? (node.sequence?.compactMap { $0.scalar?.string } ?? []) }
    }

    /// Refuses a notifier name that no notifier has, in one sentence naming the defined ones.
    func checkNotifiers(_ names: [String], origin: String) throws(ErrWatchError) {
        for name in names where !notifiers.contains(where: { $0.name == name }) {
            let known = notifiers.isEmpty ? "none are defined" : "defined notifiers: \(notifiers.map(\.name).joined(separator: ", "))"
            throw ErrWatchError(.configuration, "Unknown notifier '\(name)' in \(origin); \(known).")
        }
    }

    static func line(_ node: Node) -> Int { node.mark?.line ?? 0 }

    static func sequence(_ node: Node, what: String, path: String) throws(ErrWatchError) -> [Node] {
        if node.scalar?.string == "" || node.null != nil { return [] }
        guard let sequence = node.sequence else {
            throw ErrWatchError(.configuration, "'\(what)' (\(path) line \(line(node))) must be a list.")
        }
        return Array(sequence)
    }

    static func mapping(_ node: Node, what: String, path: String) throws(ErrWatchError) -> [String: Field] {
        guard let mapping = node.mapping else {
            throw ErrWatchError(.configuration, "Each entry must be \(what) given as key: value lines (\(path) line \(line(node))).")
        }
        var fields: [String: Field] = [:]
        for (key, value) in mapping {
            fields[key.string ?? ""] = Field(node: value, line: line(key))
        }
        return fields
    }
}
