import ErrWatchCore
import ErrWatchStore
import Prometheus
import Synchronization

/// The agent's Prometheus metrics at `/metrics`, kept on a swift-prometheus registry of its own
/// (no global bootstrap, so agents in one process, as in tests, keep separate counts), every
/// family with its `# HELP` line.
///
/// Every outcome the agent records counts, whatever its source (proxy or ingest API). Label
/// values are bounded: endpoints are normalised routes, and past a cap of distinct values per
/// label (apps, models, endpoints, codes) new values count under `other`.
public final class AgentMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry = PrometheusCollectorRegistry()

    /// What each family counts, as its `# HELP` line says it.
    static let help: KeyValuePairs<String, String> = [
        "errwatch_calls_total": "Calls recorded, by app, endpoint, model and status class (none: no response).",
        "errwatch_errors_total": "Failed calls recorded, by app, endpoint, model, error type, code and status.",
        "errwatch_call_duration_seconds": "Duration of recorded calls, from the request to the last byte of the response.",
        "errwatch_time_to_first_token_seconds": "Time from the request to a stream's first content chunk, for streams that sent content.",
        "errwatch_ratelimit_remaining": "Requests or tokens left in the provider's rate-limit window, from its latest x-ratelimit-remaining-* header.",
        "errwatch_writer_queue_depth": "Outcomes waiting to be written to the database.",
        "errwatch_writer_dropped_total": "Outcomes that could not be written (queue full, database locked or full) and were dropped.",
        "errwatch_alerts_firing": "Alerts firing, by rule and severity.",
        "errwatch_notifications_total": "Alert notification attempts, by notifier and result.",
        "errwatch_client_connections": "Client connections open to the agent.",
        "errwatch_client_connections_closed_total": "Client connections the agent closed, by reason (timeout, evicted, refused).",
        "errwatch_dimension_overflow_total": "Values counted as other because a dimension reached its cap of distinct values.",
        "errwatch_inflight_calls": "Proxied calls under way, by model (empty until the request body is read).",
        "errwatch_inflight_oldest_seconds": "How long the oldest proxied call under way has been going.",
        "errwatch_pruned_rows_total": "Rows retention deleted, by kind (errors, minute_counts, rollups, alerts) and reason (age, size).",
        "errwatch_database_bytes": "The database file's size after the latest retention pass.",
        "errwatch_otlp_dropped_total": "What the OpenTelemetry export could not deliver, by signal (logs: records; metrics: failed exports).",
    ]

    /// Every metric name `/metrics` may show (a histogram's as its `_bucket`, `_sum` and
    /// `_count` series); dashboards and rules may use only these.
    public static let names: [String] = help.flatMap { name, _ in
        Timing.allCases.map(durationFamily).contains(name) ? ["_bucket", "_sum", "_count"].map { name + $0 } : [name]
    }

    /// The histogram family of each timing.
    static func durationFamily(_ timing: Timing) -> String {
        timing == .latency ? "errwatch_call_duration_seconds" : "errwatch_time_to_first_token_seconds"
    }

    /// Distinct values a label may take before new ones become `other`.
    public static let labelCap = 100
    /// Series one metric may have: each label is capped, but not their product, so past this
    /// many a new combination counts under `other` in every label.
    public static let seriesCap = 2_000
    /// The call-duration histogram's `le` labels: the store's latency buckets, in seconds.
    static let durationBounds = bounds(.latency)

    /// A timing histogram's `le` labels: the store's buckets, in seconds.
    static func bounds(_ timing: Timing) -> [String] {
        timing.histogram.bounds.map { bound in
            let seconds = Double(bound) / 1_000
            return seconds == seconds.rounded() ? String(Int64(seconds)) : String(seconds)
        } + ["+Inf"]
    }

    /// One series of the call-duration histogram. An aggregated record stands for `count` calls
    /// at once, which the registry's one-observation histogram cannot take, so the family is
    /// kept here as plain counts (a call costs an array increment under the lock the
    /// observation holds anyway) and written out at scrape time.
    private struct DurationSeries {
        /// `app="…",endpoint="…",model="…"`, escaped.
        var labels: String
        /// Calls per bucket, not cumulative.
        var buckets: [Int64]
        var sumSeconds = 0.0
    }

    private struct CallKey: Hashable { var app, endpoint, model, provider, statusClass: String }
    private struct ErrorKey: Hashable { var app, endpoint, model, provider, type, code, status: String }
    private struct DurationKey: Hashable { var app, endpoint, model, provider: String }

    private struct State {
        var calls: [CallKey: Counter] = [:]
        var errors: [ErrorKey: Counter] = [:]
        var durations: [Timing: [DurationKey: DurationSeries]] = [:]
        var durationOrder: [Timing: [DurationKey]] = [:]
        var notifications: [String: Counter] = [:]
        var caps: [String: DimensionCap] = [:]
        var gauges: [String: Gauge] = [:]
        /// Counters kept by a key of their own (retention's, by kind and reason).
        var counters: [String: Counter] = [:]
        var droppedReported = 0
        var clientClosesReported: [String: Int] = [:]
        var foldsReported: [Dimension: Int] = [:]
    }

    /// The client connections a server holds, as `/metrics` shows them.
    public struct ClientCounts: Sendable {
        public var open = 0
        /// Closed by a header, body or idle timeout.
        public var timedOut = 0
        /// Closed to make room for a new connection over the cap.
        public var evicted = 0
        /// Refused at the cap (every open connection was busy).
        public var refused = 0

        /// Counts with the given figures.
        public init(open: Int = 0, timedOut: Int = 0, evicted: Int = 0, refused: Int = 0) {
            (self.open, self.timedOut, self.evicted, self.refused) = (open, timedOut, evicted, refused)
        }
    }

    private let state = Mutex(State())
    private let dropped: Counter
    private let queued: Gauge

    /// Fresh metrics.
    public init() {
        dropped = Self.counter("errwatch_writer_dropped_total", [], in: registry)
        queued = Self.gauge("errwatch_writer_queue_depth", [], in: registry)
    }

    private static func counter(_ name: String, _ labels: [(String, String)], in registry: PrometheusCollectorRegistry) -> Counter {
        registry.makeCounter(descriptor: descriptor(name), labels: labels)
    }

    private static func gauge(_ name: String, _ labels: [(String, String)], in registry: PrometheusCollectorRegistry) -> Gauge {
        registry.makeGauge(descriptor: descriptor(name), labels: labels)
    }

    /// `name` (already whole: no unit suffix is added) with its help text.
    private static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: helpText(name))
    }

    private static func helpText(_ name: String) -> String {
        help.first { $0.key == name }!.value
    }

    private func makeCounter(_ name: String, _ labels: [(String, String)]) -> Counter { Self.counter(name, labels, in: registry) }
    private func makeGauge(_ name: String, _ labels: [(String, String)]) -> Gauge { Self.gauge(name, labels, in: registry) }

    /// Counts what a retention pass deleted, and the file's size after it.
    public func observe(_ prune: PruneResult) {
        state.withLock { state in
            for cut in prune.cuts {
                let reason = cut.bySize ? "size" : "age"
                let key = "pruned\u{1}\(cut.kind.rawValue)\u{1}\(reason)"
                let counter = state.counters[key] ?? makeCounter("errwatch_pruned_rows_total", [("kind", cut.kind.rawValue), ("reason", reason)])
                state.counters[key] = counter
                counter.increment(by: Int64(cut.rows))
            }
            let size = state.gauges["database_bytes"] ?? makeGauge("errwatch_database_bytes", [])
            state.gauges["database_bytes"] = size
            size.set(to: Double(prune.bytesAfter))
        }
    }

    /// Counts what the OpenTelemetry export could not deliver, by signal (`logs`: records;
    /// `metrics`: failed exports, whose sums go again with the next one).
    func otlpDropped(signal: String, count: Int) {
        state.withLock { state in
            let key = "otlp\u{1}\(signal)"
            let counter = state.counters[key] ?? makeCounter("errwatch_otlp_dropped_total", [("signal", signal)])
            state.counters[key] = counter
            counter.increment(by: Int64(count))
        }
    }

    /// Counts one recorded outcome (an aggregated record counts `count` calls).
    public func observe(_ outcome: CallOutcome) {
        state.withLock { state in
            let app = Self.bounded("app", outcome.app, &state)
            let endpoint = Self.bounded("endpoint", outcome.endpoint, &state)
            let model = Self.bounded("model", outcome.model, &state)
            let provider = Self.bounded("provider", outcome.provider, &state)
            let status = outcome.status ?? 0
            let statusClass = status == 0 ? "none" : "\(status / 100)xx"
            var callKey = CallKey(app: app, endpoint: endpoint, model: model, provider: provider, statusClass: statusClass)
            if state.calls[callKey] == nil, state.calls.count >= Self.seriesCap {
                let other = DimensionCap.other
                callKey = CallKey(app: other, endpoint: other, model: other, provider: other, statusClass: statusClass)
            }
            // Looked up once and changed in place: no copy of a series on the request path.
            if state.calls[callKey] == nil {
                state.calls[callKey] = makeCounter(
                    "errwatch_calls_total",
                    [("app", callKey.app), ("endpoint", callKey.endpoint), ("model", callKey.model), ("provider", callKey.provider),
                     ("status_class", statusClass)])
            }
            state.calls[callKey]!.increment(by: Int64(outcome.count))
            if let error = outcome.error {
                let code = Self.bounded("code", error.code, &state)
                let type = Self.bounded("type", error.type.rawValue, &state)
                var errorKey = ErrorKey(app: app, endpoint: endpoint, model: model, provider: provider, type: type, code: code, status: String(status))
                if state.errors[errorKey] == nil, state.errors.count >= Self.seriesCap {
                    let other = DimensionCap.other
                    errorKey = ErrorKey(app: other, endpoint: other, model: other, provider: other, type: type, code: other, status: String(status))
                }
                let errors = state.errors[errorKey] ?? makeCounter(
                    "errwatch_errors_total",
                    [("app", errorKey.app), ("endpoint", errorKey.endpoint), ("model", errorKey.model), ("provider", errorKey.provider), ("type", errorKey.type),
                     ("code", errorKey.code), ("status", errorKey.status)])
                state.errors[errorKey] = errors
                errors.increment(by: Int64(outcome.count))
            }
            for (timing, milliseconds) in [(Timing.latency, outcome.latencyMs), (.firstToken, outcome.timeToFirstTokenMs)] {
                guard let milliseconds else { continue }
                var key = DurationKey(app: app, endpoint: endpoint, model: model, provider: provider)
                // A histogram series is a dozen lines: a tenth of the cap.
                if state.durations[timing]?[key] == nil, state.durations[timing, default: [:]].count >= Self.seriesCap / 10 {
                    key = DurationKey(app: DimensionCap.other, endpoint: DimensionCap.other, model: DimensionCap.other, provider: DimensionCap.other)
                }
                if state.durations[timing]?[key] == nil {
                    let labels = [("app", key.app), ("endpoint", key.endpoint), ("model", key.model), ("provider", key.provider)]
                    state.durations[timing, default: [:]][key] = DurationSeries(
                        labels: labels.map { "\($0)=\"\(Self.escaped($1))\"" }.joined(separator: ","),
                        buckets: Array(repeating: 0, count: timing.histogram.count))
                    state.durationOrder[timing, default: []].append(key)
                }
                let calls = Int64(outcome.count)
                state.durations[timing]![key]!.buckets[timing.histogram.bucket(milliseconds)] += calls
                state.durations[timing]![key]!.sumSeconds += Double(milliseconds) / 1_000 * Double(calls)
            }
        }
    }

    /// Counts one notification attempt's outcome.
    func notification(notifier: String, result: NotificationAttempt.Result) {
        state.withLock { state in
            let key = "\(notifier)\u{1}\(result.rawValue)"
            let counter = state.notifications[key] ?? makeCounter("errwatch_notifications_total", [("notifier", notifier), ("result", result.rawValue)])
            state.notifications[key] = counter
            counter.increment()
        }
    }

    /// The exposition text, with the gauges read now: the writer's queue and drops, the
    /// alerts firing, the latest rate-limit headroom.
    public func render(writer: BatchWriter.Statistics, alerts: [AlertState], rateLimits: [RateLimitTracker.Snapshot],
                       clients: ClientCounts = ClientCounts(), folded: [Dimension: Int] = [:],
                       inflight: [InflightCall] = [], now: Int64 = 0) -> [UInt8] {
        let histogram = state.withLock { state in
            // Calls under way per model; a model with none left reads 0, not stale.
            var underway: [String: Int] = [:]
            for call in inflight { underway[Self.bounded("model", call.model, &state), default: 0] += 1 }
            for key in state.gauges.keys where key.hasPrefix("inflight\u{1}") { state.gauges[key]!.set(to: 0) }
            for (model, count) in underway {
                let key = "inflight\u{1}\(model)"
                let gauge = state.gauges[key] ?? makeGauge("errwatch_inflight_calls", [("model", model)])
                state.gauges[key] = gauge
                gauge.set(to: Double(count))
            }
            let oldest = state.gauges["inflight_oldest"] ?? makeGauge("errwatch_inflight_oldest_seconds", [])
            state.gauges["inflight_oldest"] = oldest
            oldest.set(to: inflight.map(\.startedAt).min().map { Double(max(0, now - $0)) / 1_000 } ?? 0)
            for dimension in [Dimension.app, .endpoint, .model, .type, .code] {
                let total = folded[dimension] ?? 0
                let counter = makeCounter("errwatch_dimension_overflow_total", [("dimension", dimension.rawValue)])
                counter.increment(by: Int64(total - state.foldsReported[dimension, default: 0]))
                state.foldsReported[dimension] = total
            }
            let open = state.gauges["clients"] ?? makeGauge("errwatch_client_connections", [])
            state.gauges["clients"] = open
            open.set(to: Double(clients.open))
            for (reason, total) in [("timeout", clients.timedOut), ("evicted", clients.evicted), ("refused", clients.refused)] {
                let counter = makeCounter("errwatch_client_connections_closed_total", [("reason", reason)])
                counter.increment(by: Int64(total - state.clientClosesReported[reason, default: 0]))
                state.clientClosesReported[reason] = total
            }
            queued.set(to: Double(writer.queued))
            if writer.dropped > state.droppedReported {
                dropped.increment(by: Int64(writer.dropped - state.droppedReported))
                state.droppedReported = writer.dropped
            }
            // Alerts firing per rule and severity; series that stop firing read 0, not stale.
            var firing: [String: (rule: String, severity: String, count: Int)] = [:]
            for key in state.gauges.keys where key.hasPrefix("alerts\u{1}") { firing[key] = nil }
            for alert in alerts where alert.phase == .firing {
                let key = "alerts\u{1}\(alert.rule)\u{1}\(alert.severity.rawValue)"
                firing[key, default: (alert.rule, alert.severity.rawValue, 0)].count += 1
            }
            for key in state.gauges.keys where key.hasPrefix("alerts\u{1}") && firing[key] == nil {
                state.gauges[key]!.set(to: 0)
            }
            for (key, entry) in firing {
                let gauge = state.gauges[key] ?? makeGauge("errwatch_alerts_firing", [("rule", entry.rule), ("severity", entry.severity)])
                state.gauges[key] = gauge
                gauge.set(to: Double(entry.count))
            }
            for snapshot in rateLimits {
                let model = Self.bounded("model", snapshot.model, &state)
                for (kind, value) in [("requests", snapshot.remainingRequests), ("tokens", snapshot.remainingTokens)] {
                    guard let value else { continue }
                    let key = "ratelimit\u{1}\(model)\u{1}\(kind)"
                    let gauge = state.gauges[key] ?? makeGauge("errwatch_ratelimit_remaining", [("model", model), ("limit", kind)])
                    state.gauges[key] = gauge
                    gauge.set(to: Double(value))
                }
            }
            return Self.durationText(state)
        }
        return registry.emitToBuffer() + Array(histogram.utf8)
    }

    /// The timing histogram families in the text exposition format: cumulative `le` buckets
    /// in ascending order, then `_sum` and `_count`, per series.
    private static func durationText(_ state: State) -> String {
        Timing.allCases.map { durationText(state, $0) }.joined()
    }

    private static func durationText(_ state: State, _ timing: Timing) -> String {
        guard let order = state.durationOrder[timing], !order.isEmpty else { return "" }
        let name = durationFamily(timing)
        let bounds = bounds(timing)
        var text = "# HELP \(name) \(helpText(name))\n# TYPE \(name) histogram\n"
        for key in order {
            let series = state.durations[timing]![key]!
            var cumulative: Int64 = 0
            for (bound, calls) in zip(bounds, series.buckets) {
                cumulative += calls
                text += "\(name)_bucket{\(series.labels),le=\"\(bound)\"} \(cumulative)\n"
            }
            text += "\(name)_sum{\(series.labels)} \(series.sumSeconds)\n"
            text += "\(name)_count{\(series.labels)} \(cumulative)\n"
        }
        return text
    }

    /// A label value as the text format writes it: backslash, double quote and line feed escaped.
    static func escaped(_ value: String) -> String {
        var text = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": text += "\\\\"
            case "\"": text += "\\\""
            case "\n": text += "\\n"
            default: text.unicodeScalars.append(character)
            }
        }
        return text
    }

    /// `value`, or `other` once `label` has had ``labelCap`` distinct values.
    private static func bounded(_ label: String, _ value: String, _ state: inout State) -> String {
        state.caps[label, default: DimensionCap(limit: labelCap)].admit(value)
    }
}
