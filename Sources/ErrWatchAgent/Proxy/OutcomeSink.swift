import ErrWatchCore
import ErrWatchStore

/// Where the agent's outcomes go, whatever their source (proxy or ingest API): bounded (every
/// client-controlled dimension has a cap), counted in the Prometheus metrics (and exported to
/// an OpenTelemetry collector when one is set), then handed to the batch writer, which never
/// makes the caller wait.
struct OutcomeSink: Sendable {
    let writer: BatchWriter
    let metrics: AgentMetrics
    let limiter: DimensionLimiter
    /// The proxied calls under way.
    let inflight: InflightCalls
    /// The agent's name for itself, recorded with every call (``AgentConfiguration/hostName``).
    let hostName: String
    /// Export to an OpenTelemetry collector, when configured.
    var telemetry: OTLPExport? = nil

    /// Records `outcome`; false when the writer's queue refused it (dropped and counted there).
    /// The metrics count it either way: the call happened, whether or not the database took it.
    @discardableResult
    func record(_ outcome: CallOutcome) -> Bool {
        let outcome = limiter.bound(outcome)
        metrics.observe(outcome)
        telemetry?.observe(outcome)
        return writer.submit(outcome)
    }

    /// Registers a proxied call as under way, until ``record(_:of:)`` or ``end(_:)``.
    func begin(_ call: inout ProxyCall) {
        call.inflight = inflight.begin(InflightCall(
            startedAt: call.info.startedAt, app: call.info.app, endpoint: call.info.endpoint, model: call.info.fields.model,
            upstream: call.info.upstream, provider: call.info.provider, host: hostName, streaming: call.info.fields.stream))
    }

    /// Records the outcome of a proxied call, which is then no longer under way.
    @discardableResult
    func record(_ outcome: CallOutcome, of call: ProxyCall) -> Bool {
        end(call)
        return record(outcome)
    }

    /// A proxied call is no longer under way, without an outcome of its own (one recorded
    /// another way, such as a rejection).
    func end(_ call: ProxyCall) {
        call.inflight?.end()
    }
}
