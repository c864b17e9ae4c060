import ErrWatchCore
import ErrWatchStore

/// Where the agent's outcomes go, whatever their source (proxy or ingest API): bounded (every
/// client-controlled dimension has a cap), counted in the Prometheus metrics, then handed to the
/// batch writer, which never makes the caller wait.
struct OutcomeSink: Sendable {
    let writer: BatchWriter
    let metrics: AgentMetrics
    let limiter: DimensionLimiter

    /// Records `outcome`; false when the writer's queue refused it (dropped and counted there).
    /// The metrics count it either way: the call happened, whether or not the database took it.
    @discardableResult
    func record(_ outcome: CallOutcome) -> Bool {
        let outcome = limiter.bound(outcome)
        metrics.observe(outcome)
        return writer.submit(outcome)
    }
}
