import CoreMetrics
import ErrWatchCore
import ErrWatchStore
import Metrics
import Prometheus
import Synchronization

private typealias MetricCounter = CoreMetrics.Counter
private typealias MetricGauge = CoreMetrics.Gauge

/// The agent's Prometheus metrics at `/metrics`, kept through swift-metrics on a
/// swift-prometheus registry of its own (no global bootstrap, so agents in one process, as in
/// tests, keep separate counts).
///
/// Every outcome the agent records counts, whatever its source (proxy or ingest API). Label
/// values are bounded: endpoints are normalised routes, and past a cap of distinct values per
/// label (apps, models, endpoints, codes) new values count under `other`.
public final class AgentMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    /// Every metric name `/metrics` may show; dashboards and rules may use only these.
    public static let names = [
        "errwatch_calls_total", "errwatch_errors_total", "errwatch_call_duration_seconds_bucket",
        "errwatch_call_duration_seconds_sum", "errwatch_call_duration_seconds_count", "errwatch_ratelimit_remaining",
        "errwatch_writer_queue_depth", "errwatch_writer_dropped_total", "errwatch_alerts_firing", "errwatch_notifications_total",
        "errwatch_client_connections", "errwatch_client_connections_closed_total", "errwatch_dimension_overflow_total",
    ]

    /// Distinct values a label may take before new ones become `other`.
    public static let labelCap = 100
    /// Series one metric may have: each label is capped, but not their product, so past this
    /// many a new combination counts under `other` in every label.
    public static let seriesCap = 2_000
    /// The call-duration histogram's `le` labels: the store's latency buckets, in seconds.
    static let durationBounds: [String] = LatencyHistogram.bounds.map { bound in
        let seconds = Double(bound) / 1_000
        return seconds == seconds.rounded() ? String(Int64(seconds)) : String(seconds)
    } + ["+Inf"]

    /// One histogram series, written as Prometheus histograms are exposed (`_bucket` with
    /// cumulative `le`, `_sum`, `_count`) from counters, because an aggregated record stands for
    /// `count` calls at once, which a histogram's one-observation API cannot take.
    ///
    /// Observations land in plain counts under the lock the observation holds anyway; the
    /// counters catch up at scrape time, so a call costs array increments, not a dozen atomics.
    private struct DurationSeries {
        var buckets: [MetricCounter]
        var sum: FloatingPointCounter
        var count: MetricCounter
        /// Calls per bucket (not cumulative), their latency sum in seconds, and what the
        /// counters have been given so far.
        var pending = [Int64](repeating: 0, count: AgentMetrics.durationBounds.count)
        var pendingSum = 0.0
    }

    private struct CallKey: Hashable { var app, endpoint, model, statusClass: String }
    private struct ErrorKey: Hashable { var app, endpoint, model, type, code, status: String }
    private struct DurationKey: Hashable { var app, endpoint, model: String }

    private struct State {
        var calls: [CallKey: MetricCounter] = [:]
        var errors: [ErrorKey: MetricCounter] = [:]
        var durations: [DurationKey: DurationSeries] = [:]
        var notifications: [String: MetricCounter] = [:]
        var caps: [String: DimensionCap] = [:]
        var gauges: [String: MetricGauge] = [:]
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
    private let dropped: MetricCounter
    private let queued: MetricGauge

    /// Fresh metrics.
    public init() {
        factory = PrometheusMetricsFactory(registry: registry)
        dropped = MetricCounter(label: "errwatch_writer_dropped_total", dimensions: [], factory: factory)
        queued = MetricGauge(label: "errwatch_writer_queue_depth", dimensions: [], factory: factory)
    }

    /// Counts one recorded outcome (an aggregated record counts `count` calls).
    public func observe(_ outcome: CallOutcome) {
        state.withLock { state in
            let app = Self.bounded("app", outcome.app, &state)
            let endpoint = Self.bounded("endpoint", outcome.endpoint, &state)
            let model = Self.bounded("model", outcome.model, &state)
            let status = outcome.status ?? 0
            let statusClass = status == 0 ? "none" : "\(status / 100)xx"
            var callKey = CallKey(app: app, endpoint: endpoint, model: model, statusClass: statusClass)
            if state.calls[callKey] == nil, state.calls.count >= Self.seriesCap {
                callKey = CallKey(app: DimensionCap.other, endpoint: DimensionCap.other, model: DimensionCap.other, statusClass: statusClass)
            }
            // Looked up once and changed in place: no copy of a series on the request path.
            if state.calls[callKey] == nil {
                state.calls[callKey] = MetricCounter(
                    label: "errwatch_calls_total",
                    dimensions: [("app", callKey.app), ("endpoint", callKey.endpoint), ("model", callKey.model), ("status_class", statusClass)],
                    factory: factory)
            }
            state.calls[callKey]!.increment(by: Int64(outcome.count))
            if let error = outcome.error {
                let code = Self.bounded("code", error.code, &state)
                let type = Self.bounded("type", error.type.rawValue, &state)
                var errorKey = ErrorKey(app: app, endpoint: endpoint, model: model, type: type, code: code, status: String(status))
                if state.errors[errorKey] == nil, state.errors.count >= Self.seriesCap {
                    let other = DimensionCap.other
                    errorKey = ErrorKey(app: other, endpoint: other, model: other, type: type, code: other, status: String(status))
                }
                let errors = state.errors[errorKey] ?? MetricCounter(
                    label: "errwatch_errors_total",
                    dimensions: [("app", errorKey.app), ("endpoint", errorKey.endpoint), ("model", errorKey.model), ("type", errorKey.type),
                                 ("code", errorKey.code), ("status", errorKey.status)],
                    factory: factory)
                state.errors[errorKey] = errors
                errors.increment(by: Int64(outcome.count))
            }
            if let latency = outcome.latencyMs {
                var key = DurationKey(app: app, endpoint: endpoint, model: model)
                // A histogram series is a dozen lines: a tenth of the cap.
                if state.durations[key] == nil, state.durations.count >= Self.seriesCap / 10 {
                    key = DurationKey(app: DimensionCap.other, endpoint: DimensionCap.other, model: DimensionCap.other)
                }
                if state.durations[key] == nil {
                    let dimensions = [("app", key.app), ("endpoint", key.endpoint), ("model", key.model)]
                    state.durations[key] = DurationSeries(
                        buckets: Self.durationBounds.map { bound in
                            MetricCounter(label: "errwatch_call_duration_seconds_bucket", dimensions: dimensions + [("le", bound)], factory: factory)
                        },
                        sum: FloatingPointCounter(label: "errwatch_call_duration_seconds_sum", dimensions: dimensions, factory: factory),
                        count: MetricCounter(label: "errwatch_call_duration_seconds_count", dimensions: dimensions, factory: factory))
                }
                let calls = Int64(outcome.count)
                state.durations[key]!.pending[LatencyHistogram.bucket(latency)] += calls
                state.durations[key]!.pendingSum += Double(latency) / 1_000 * Double(calls)
            }
        }
    }

    /// Counts one notification attempt's outcome.
    func notification(notifier: String, result: NotificationAttempt.Result) {
        state.withLock { state in
            let key = "\(notifier)\u{1}\(result.rawValue)"
            let counter = state.notifications[key] ?? MetricCounter(
                label: "errwatch_notifications_total", dimensions: [("notifier", notifier), ("result", result.rawValue)], factory: factory)
            state.notifications[key] = counter
            counter.increment()
        }
    }

    /// The exposition text, with the gauges read now: the writer's queue and drops, the
    /// alerts firing, the latest rate-limit headroom.
    public func render(writer: BatchWriter.Statistics, alerts: [AlertState], rateLimits: [RateLimitTracker.Snapshot],
                       clients: ClientCounts = ClientCounts(), folded: [Dimension: Int] = [:]) -> [UInt8] {
        state.withLock { state in
            for dimension in [Dimension.app, .endpoint, .model, .type, .code] {
                let total = folded[dimension] ?? 0
                let counter = MetricCounter(label: "errwatch_dimension_overflow_total", dimensions: [("dimension", dimension.rawValue)], factory: factory)
                counter.increment(by: Int64(total - state.foldsReported[dimension, default: 0]))
                state.foldsReported[dimension] = total
            }
            let open = state.gauges["clients"] ?? MetricGauge(label: "errwatch_client_connections", dimensions: [], factory: factory)
            state.gauges["clients"] = open
            open.record(clients.open)
            for (reason, total) in [("timeout", clients.timedOut), ("evicted", clients.evicted), ("refused", clients.refused)] {
                let counter = MetricCounter(label: "errwatch_client_connections_closed_total", dimensions: [("reason", reason)], factory: factory)
                counter.increment(by: Int64(total - state.clientClosesReported[reason, default: 0]))
                state.clientClosesReported[reason] = total
            }
            // The histogram's counters catch up with the calls counted since the last scrape.
            for key in state.durations.keys {
                var series = state.durations[key]!
                var cumulative: Int64 = 0
                for index in series.pending.indices {
                    cumulative += series.pending[index]
                    if cumulative > 0 { series.buckets[index].increment(by: cumulative) }
                }
                if cumulative > 0 {
                    series.count.increment(by: cumulative)
                    series.sum.increment(by: series.pendingSum)
                }
                series.pending = [Int64](repeating: 0, count: series.pending.count)
                series.pendingSum = 0
                state.durations[key] = series
            }
            queued.record(writer.queued)
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
                state.gauges[key]!.record(0)
            }
            for (key, entry) in firing {
                let gauge = state.gauges[key] ?? MetricGauge(
                    label: "errwatch_alerts_firing", dimensions: [("rule", entry.rule), ("severity", entry.severity)], factory: factory)
                state.gauges[key] = gauge
                gauge.record(entry.count)
            }
            for snapshot in rateLimits {
                let model = Self.bounded("model", snapshot.model, &state)
                for (kind, value) in [("requests", snapshot.remainingRequests), ("tokens", snapshot.remainingTokens)] {
                    guard let value else { continue }
                    let key = "ratelimit\u{1}\(model)\u{1}\(kind)"
                    let gauge = state.gauges[key] ?? MetricGauge(
                        label: "errwatch_ratelimit_remaining", dimensions: [("model", model), ("limit", kind)], factory: factory)
                    state.gauges[key] = gauge
                    gauge.record(value)
                }
            }
        }
        return registry.emitToBuffer()
    }

    /// `value`, or `other` once `label` has had ``labelCap`` distinct values.
    private static func bounded(_ label: String, _ value: String, _ state: inout State) -> String {
        state.caps[label, default: DimensionCap(limit: labelCap)].admit(value)
    }
}
