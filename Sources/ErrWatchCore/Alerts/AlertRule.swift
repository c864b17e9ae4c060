/// One alerting rule: what to measure over which calls, when that is bad enough to tell
/// someone, and whom to tell. Rules come from the agent's configuration file.
public struct AlertRule: Sendable, Hashable {
    /// How a rule judges its measure.
    public enum Kind: String, Sendable, CaseIterable {
        /// The rate or count over a window against fixed levels.
        case threshold
        /// The rate now against the rate before (the previous window, or a day earlier).
        case change
        /// How fast the error budget of an SLO burns, over pairs of windows.
        case burnRate = "burn_rate"
        /// An error (type, code) never seen before for an app and model.
        case newError = "new_error"
        /// A percentile of call duration over a window against levels in milliseconds.
        case latency
        /// The same for streams' time to first token.
        case ttft
        /// Calls in flight for longer than a duration: a provider that accepts connections and
        /// never answers.
        case hanging

        /// Whether the rule judges a duration percentile (``latency``, ``ttft``).
        public var isTiming: Bool { self == .latency || self == .ttft }
        /// Whether a replay needs the recorded duration histograms (timing rules, and hanging
        /// rules, which replay calls in flight from their durations).
        public var readsHistograms: Bool { isTiming || self == .hanging }
    }

    /// What a threshold rule measures.
    public enum Metric: String, Sendable, CaseIterable {
        /// errors / calls.
        case errorRate = "error_rate"
        /// errors.
        case errorCount = "error_count"
    }

    /// What a change rule compares against.
    public enum Compare: String, Sendable, CaseIterable {
        /// The window just before the current one.
        case previous
        /// The same window a day earlier.
        case day
    }

    /// What happens to an alert whose group had no calls at all in the window.
    public enum NoData: String, Sendable, CaseIterable {
        /// Leave the alert as it is.
        case keep
        /// Resolve it: nothing is failing when nothing is called.
        case resolve
        /// Treat silence as critical: a group that stops calling may be broken.
        case alert
    }

    /// A pair of windows of a burn-rate rule: both must burn at `factor` times the budget rate.
    public struct BurnWindow: Sendable, Hashable {
        public var longMs: Int64
        public var shortMs: Int64
        public var factor: Double
        public var severity: AlertSeverity

        /// A pair that pages at `severity` when both windows burn at least `factor`.
        public init(longMs: Int64, shortMs: Int64, factor: Double, severity: AlertSeverity) {
            self.longMs = longMs
            self.shortMs = shortMs
            self.factor = factor
            self.severity = severity
        }

        /// The Site Reliability Workbook's pairs for a 30-day SLO: 1h/5m at 14.4× and 6h/30m at
        /// 6× page (critical), 3d/6h at 1× opens a ticket (warning).
        public static let workbook: [BurnWindow] = [
            BurnWindow(longMs: Timestamp.hour, shortMs: 5 * Timestamp.minute, factor: 14.4, severity: .critical),
            BurnWindow(longMs: 6 * Timestamp.hour, shortMs: 30 * Timestamp.minute, factor: 6, severity: .critical),
            BurnWindow(longMs: 3 * Timestamp.day, shortMs: 6 * Timestamp.hour, factor: 1, severity: .warning),
        ]
    }

    /// The rule's name, unique in its file; it names the alert everywhere.
    public var name: String
    public var kind: Kind = .threshold
    public var metric: Metric = .errorRate
    /// Which calls the rule looks at. Conditions on app, endpoint and model narrow the calls;
    /// conditions on status, type and code narrow only the errors counted among them, so
    /// `type: rate_limit_error` measures rate-limit errors per call.
    public var scope = RuleScope()
    /// One alert per distinct value of these dimensions; none is one alert for everything.
    public var groupBy: [Dimension] = []
    /// The window the measure is taken over (threshold and change rules; new_error's "recent").
    public var windowMs: Int64 = 5 * Timestamp.minute
    /// The warning level: a rate (0.02) for error_rate, a count for error_count, a factor for change.
    public var warning: Double?
    /// The critical level, in the same unit.
    public var critical: Double?
    /// Hysteresis: a firing alert returns to normal only below this. Default: 80% of the lowest level.
    public var resolve: Double?
    /// No alert from a group with fewer calls than this in the window.
    public var minCalls: Int64 = 20
    /// Fire a rate alert only when the rate is credibly above the level: the Wilson lower bound
    /// at 95% is above it, not just the observed rate.
    public var credible = true
    /// How long the condition must hold (pending) before the alert fires.
    public var forMs: Int64 = 0
    /// Re-notify this often while firing; nil never repeats.
    public var repeatMs: Int64?
    /// The notifiers to tell, by name.
    public var notify: [String] = []
    /// Whether notifiers hear about resolution (new_error alerts do not by default).
    public var sendResolved = true
    /// What a group without calls in the window does.
    public var noData: NoData = .keep
    /// Change rules: what the current window is compared with.
    public var compare: Compare = .previous
    /// Change rules: the lowest current rate worth an alert, whatever the factor.
    public var minRate = 0.01
    /// Burn-rate rules: the SLO target as a success ratio (0.995).
    public var slo = 0.995
    /// Burn-rate rules: the SLO period (sets the budget the factors are relative to).
    public var periodMs: Int64 = 30 * Timestamp.day
    /// Burn-rate rules: the window pairs.
    public var burnWindows = BurnWindow.workbook
    /// New-error rules: how far back a (type, code) must be absent to count as new.
    public var lookbackMs: Int64 = 7 * Timestamp.day
    /// New-error rules: how long an app and model must have been calling, before the window,
    /// for their errors to count as new (a learning period, as Datadog's new-value monitors
    /// have): without it a fresh database, or a newly deployed app, reports every error it
    /// sees as new. Zero judges from whatever history there is.
    public var learningMs: Int64 = Timestamp.day
    /// Hanging rules: how long a call must have been in flight to count as hanging.
    public var hangingAfterMs: Int64 = 2 * Timestamp.minute
    /// Latency rules: the percentile judged, as a fraction (0.95 for p95).
    public var percentile = 0.95
    /// Change and new-error rules: the severity they alert at.
    public var severity: AlertSeverity = .warning

    /// A rule with every setting at its default.
    public init(name: String) {
        self.name = name
    }

    /// The level a firing alert must fall below to resolve.
    public var resolveLevel: Double? {
        if let resolve { return resolve }
        return [warning, critical].compactMap { $0 }.min().map { $0 * 0.8 }
    }

    /// The dimensions an alert of this rule is labelled with.
    public var labelDimensions: [Dimension] {
        kind == .newError ? Self.newErrorDimensions : groupBy
    }

    /// The dimensions a new error is new within: the pair (type, code) per app and model.
    public static let newErrorDimensions: [Dimension] = [.app, .model, .type, .code]

    /// The window an alert's figures were taken over: for burn-rate rules, the long window of
    /// the pair that fired (found by its factor and severity), else ``windowMs``.
    public func window(of alert: AlertState) -> Int64 {
        guard kind == .burnRate else { return windowMs }
        let pair = burnWindows.first { $0.factor == alert.threshold && $0.severity == alert.severity } ?? burnWindows.first
        return pair?.longMs ?? windowMs
    }

    /// How far back from now the rule reads counts.
    public var lookbackNeededMs: Int64 {
        switch kind {
        case .threshold, .latency, .ttft: windowMs
        // A replay finds calls in flight from the durations recorded at their start, taking
        // the overflow bucket to end at twice the last bound.
        case .hanging: max(hangingAfterMs, 2 * (Histogram.latency.bounds.last ?? 0)) + Timestamp.minute
        case .change: compare == .day ? Timestamp.day + windowMs : 2 * windowMs
        case .burnRate: burnWindows.map(\.longMs).max() ?? 0
        case .newError: lookbackMs
        }
    }
}

/// How bad an alert is.
public enum AlertSeverity: String, Sendable, Hashable, CaseIterable, Comparable, Codable {
    case warning, critical

    public static func < (lhs: AlertSeverity, rhs: AlertSeverity) -> Bool {
        lhs == .warning && rhs == .critical
    }
}

/// Which calls a rule looks at: per dimension, the values to keep ("any of"; empty keeps all).
public struct RuleScope: Sendable, Hashable {
    public var apps: [String] = []
    public var endpoints: [String] = []
    public var models: [String] = []
    public var upstreams: [String] = []
    public var providers: [String] = []
    public var hosts: [String] = []
    public var statuses: [Int] = []
    public var types: [String] = []
    public var codes: [String] = []
    /// ``Fault`` names (`caller`, `provider`, `network`, `errwatch`).
    public var faults: [String] = []

    /// Everything.
    public init() {}

    /// The conditions on the calls only (``Dimension/callSide``), without those on the errors.
    public var callSide: RuleScope {
        var scope = RuleScope()
        (scope.apps, scope.endpoints, scope.models) = (apps, endpoints, models)
        (scope.upstreams, scope.providers, scope.hosts) = (upstreams, providers, hosts)
        return scope
    }

    /// Whether it narrows the errors counted (status, type, code, fault), not only the calls.
    public var narrowsErrors: Bool {
        !statuses.isEmpty || !types.isEmpty || !codes.isEmpty || !faults.isEmpty
    }

    /// The conditions as `dimension: values`, for printing.
    public var conditions: [(Dimension, [String])] {
        [(.app, apps), (.endpoint, endpoints), (.model, models), (.upstream, upstreams), (.provider, providers), (.host, hosts), (.status, StatusPattern.tokens(statuses)),
         (.type, types), (.code, codes), (.fault, faults)].filter { !$0.1.isEmpty }
    }
}
