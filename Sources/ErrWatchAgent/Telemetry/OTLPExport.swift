import CoreMetrics
import ErrWatchCore
import ErrWatchStore
import Logging
import OTel
import ServiceLifecycle
import Synchronization

/// Export to an OpenTelemetry collector over OTLP/HTTP (protobuf), through swift-otel:
///
/// - metrics in the GenAI conventions — `gen_ai.client.operation.duration` and, for streams,
///   `gen_ai.client.operation.time_to_first_chunk` (histograms in seconds, the conventions'
///   buckets) with `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`,
///   `server.address` and, on failures, `error.type` — and errwatch's own counters under
///   `errwatch.*`;
/// - every recorded error as a log record, and every alert state change.
///
/// Nothing here waits on the collector: metrics are sums kept in memory and exported every
/// `otlp_interval`; log records queue in a bounded batch, and what the collector does not take
/// (queue full, export failed after swift-otel's retries) is dropped and counted
/// (`errwatch.otlp.dropped`, and `errwatch_otlp_dropped_total` in `/metrics`).
final class OTLPExport: Sendable {
    /// The exporters, to run as the agent's services.
    let services: [any Service]
    private let factory: any MetricsFactory
    private let errorLog: Logger
    private let alertLog: Logger
    /// The default upstream's provider and host: for outcomes that name none (ingested ones).
    private let provider: String
    private let server: String
    /// Each upstream's host (`server.address`), by its name.
    private let servers: [String: String]
    private let instruments = Mutex(Instruments())
    private let writerDrops = Mutex(0)

    /// Cached instruments, one per name and attribute set (each dimension is capped upstream).
    private struct Instruments {
        var timers: [Key: CoreMetrics.Timer] = [:]
        var counters: [Key: CoreMetrics.Counter] = [:]
    }

    private struct Key: Hashable {
        var name: String
        var attributes: [String]
    }

    /// The GenAI conventions' bucket boundaries for operation duration and time to first chunk, in seconds.
    static let buckets: [Duration] = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
        .map { Duration.milliseconds(Int64(($0 * 1_000).rounded())) }
    static let duration = "gen_ai.client.operation.duration"
    static let timeToFirstChunk = "gen_ai.client.operation.time_to_first_chunk"

    /// The export `settings` describe, for calls to `routes` (the default upstream first); nil
    /// when no endpoint is set. Failures of the exporters are logged to `logger` and counted in `metrics`.
    init?(settings: AgentConfiguration.OTLPSettings, routes: [Upstream], metrics: AgentMetrics, logger: Logger) throws {
        guard let endpoint = settings.endpoint else { return nil }
        let dropped = Dropped(metrics: metrics, logger: logger)
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.resourceAttributes = settings.resourceAttributes
        configuration.diagnosticLogger = .custom(Logger(label: "errwatch.otlp") { _ in dropped })
        configuration.diagnosticLogLevel = .warning
        configuration.traces.enabled = false
        var exporter = OTel.Configuration.OTLPExporterConfiguration.default
        exporter.headers = settings.headers.sorted { $0.key < $1.key }
        exporter.protocol = .httpProtobuf
        configuration.metrics.exportInterval = .milliseconds(settings.intervalMs)
        configuration.metrics.durationHistogramBuckets = [Self.duration: Self.buckets, Self.timeToFirstChunk: Self.buckets]
        configuration.metrics.otlpExporter = exporter
        configuration.metrics.otlpExporter.endpoint = endpoint + "/v1/metrics"
        configuration.logs.otlpExporter = exporter
        configuration.logs.otlpExporter.endpoint = endpoint + "/v1/logs"
        configuration.logs.batchLogRecordProcessor.scheduleDelay = .milliseconds(min(settings.intervalMs, 5_000))
        configuration.logs.level = .info
        let (factory, metricsService) = try OTel.makeMetricsBackend(configuration: configuration)
        let (logFactory, logsService) = try OTel.makeLoggingBackend(configuration: configuration)
        self.factory = factory
        errorLog = Logger(label: "errwatch.errors", factory: logFactory)
        alertLog = Logger(label: "errwatch.alerts", factory: logFactory)
        services = [metricsService, logsService]
        servers = Dictionary(routes.map { ($0.name, Provider.host(ofURL: $0.url)) }) { first, _ in first }
        server = Provider.host(ofURL: routes[0].url)
        provider = routes[0].provider
        Self.kept.withLock { $0.append(self) }
    }

    /// Every export ever made, kept to the process's end: swift-otel's exporter shuts its HTTP
    /// client down synchronously when it is freed, which traps on an event-loop thread — and the
    /// proxy's channel handlers, on those threads, may hold the last reference. One per agent.
    private static let kept = Mutex<[OTLPExport]>([])

    /// Counts and times one outcome; an error also becomes a log record. Called on the
    /// recording path: sums under a lock, a log record queued, no I/O.
    func observe(_ outcome: CallOutcome) {
        let operation = Provider.operation(endpoint: outcome.endpoint)
        let provider = outcome.provider.isEmpty ? self.provider : outcome.provider
        let server = servers[outcome.upstream] ?? self.server
        var attributes = [("gen_ai.operation.name", operation), ("gen_ai.provider.name", provider),
                          ("gen_ai.request.model", outcome.model), ("server.address", server), ("errwatch.app", outcome.app)]
        if let error = outcome.error { attributes += [("error.type", error.type.rawValue), ("errwatch.error.code", error.code)] }
        // An aggregated record stands for `count` calls: each is observed (up to a bound, past
        // which only the counters take the rest, the histograms' share being the same).
        let times = min(outcome.count, 1_000)
        if let latency = outcome.latencyMs {
            let timer = self.timer(Self.duration, attributes)
            for _ in 0..<times { timer.recordMilliseconds(latency) }
        }
        if let firstToken = outcome.timeToFirstTokenMs {
            let timer = self.timer(Self.timeToFirstChunk, attributes)
            for _ in 0..<times { timer.recordMilliseconds(firstToken) }
        }
        let status = outcome.status.map { "\($0 / 100)xx" } ?? "none"
        counter("errwatch.calls", "{call}", [("errwatch.app", outcome.app), ("gen_ai.request.model", outcome.model), ("errwatch.status_class", status)])
            .increment(by: Int64(outcome.count))
        guard let error = outcome.error else { return }
        counter("errwatch.errors", "{error}", [("errwatch.app", outcome.app), ("gen_ai.request.model", outcome.model),
                                               ("error.type", error.type.rawValue), ("errwatch.error.code", error.code),
                                               ("errwatch.fault", error.fault.rawValue)])
            .increment(by: Int64(outcome.count))
        var metadata: Logger.Metadata = [
            "event.name": "errwatch.call.error",
            "error.type": "\(error.type.rawValue)", "errwatch.error.code": "\(error.code)", "errwatch.fault": "\(error.fault.rawValue)",
            "errwatch.retryable": "\(error.retryable)", "errwatch.attempt": "\(outcome.attempt)",
            "errwatch.app": "\(outcome.app)", "errwatch.endpoint": "\(outcome.endpoint)", "gen_ai.operation.name": "\(operation)",
            "gen_ai.request.model": "\(outcome.model)", "gen_ai.provider.name": "\(provider)", "server.address": "\(server)",
        ]
        if let status = outcome.status { metadata["http.response.status_code"] = "\(status)" }
        if let id = outcome.requestID { metadata["errwatch.request_id"] = "\(id)" }
        if let delay = error.retryAfterMs { metadata["errwatch.retry_after_ms"] = "\(delay)" }
        if !error.providerType.isEmpty { metadata["errwatch.provider_type"] = "\(error.providerType)" }
        if !error.providerCode.isEmpty { metadata["errwatch.provider_code"] = "\(error.providerCode)" }
        // The caller's mistakes are warnings; the provider's and the network's errors.
        errorLog.log(level: error.fault == .caller ? .warning : .error, "\(error.message)", metadata: metadata)
    }

    /// One alert state change as a log record.
    func alertChanged(_ event: AlertEvent) {
        var metadata: Logger.Metadata = [
            "event.name": "errwatch.alert.\(event.kind.rawValue)", "errwatch.alert.rule": "\(event.alert.rule)",
            "errwatch.alert.severity": "\(event.alert.severity.rawValue)", "errwatch.alert.value": "\(event.alert.value)",
        ]
        for (key, value) in event.alert.labels { metadata["errwatch.alert.label.\(key)"] = "\(value)" }
        let resolved = event.kind == .resolved || event.kind == .cancelled
        alertLog.log(level: resolved ? .info : (event.alert.severity == .critical ? .critical : .warning), "\(event.summary)", metadata: metadata)
    }

    /// Writer drops (a running total) and alerts firing, sampled now and then.
    func sample(droppedOutcomes: Int, firingAlerts: Int) {
        let new = writerDrops.withLock { seen in
            defer { seen = max(seen, droppedOutcomes) }
            return max(0, droppedOutcomes - seen)
        }
        counter("errwatch.writer.dropped", "{outcome}", []).increment(by: Int64(new))
        Gauge(label: "errwatch.alerts.firing", dimensions: [("unit", "{alert}")], factory: factory).record(firingAlerts)
    }

    private func timer(_ name: String, _ attributes: [(String, String)]) -> CoreMetrics.Timer {
        let key = Key(name: name, attributes: attributes.flatMap { [$0.0, $0.1] })
        return instruments.withLock { instruments in
            if let timer = instruments.timers[key] { return timer }
            let timer = CoreMetrics.Timer(label: name, dimensions: [("unit", "s")] + attributes, factory: factory)
            instruments.timers[key] = timer
            return timer
        }
    }

    private func counter(_ name: String, _ unit: String, _ attributes: [(String, String)]) -> CoreMetrics.Counter {
        let key = Key(name: name, attributes: attributes.flatMap { [$0.0, $0.1] })
        return instruments.withLock { instruments in
            if let counter = instruments.counters[key] { return counter }
            let counter = CoreMetrics.Counter(label: name, dimensions: [("unit", unit)] + attributes, factory: factory)
            instruments.counters[key] = counter
            return counter
        }
    }
}

/// swift-otel's own diagnostics: what it could not export is counted as dropped (log records
/// by number; a failed metrics export once: the sums are sent again next time) and logged.
/// A value, as a log handler must be: swift-otel's HTTP client sets metadata on its copy.
struct Dropped: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning
    let metrics: AgentMetrics
    let logger: Logger

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).merging(metadata) { first, _ in first }
        let text = "\(event.message)"
        if text.hasPrefix("Log records were dropped"), let count = fields["dropped_count"].flatMap({ Int("\($0)") }) {
            metrics.otlpDropped(signal: "logs", count: count)
        } else if text.hasPrefix("Failed to export batch"), let count = fields["batch_size"].flatMap({ Int("\($0)") }) {
            metrics.otlpDropped(signal: "logs", count: count)
        } else if text.hasPrefix("Failed to export metrics") {
            metrics.otlpDropped(signal: "metrics", count: 1)
        }
        guard event.level >= .warning else { return }
        logger.log(level: .warning, "OpenTelemetry export: \(text)", metadata: fields.isEmpty ? nil : fields)
    }
}
