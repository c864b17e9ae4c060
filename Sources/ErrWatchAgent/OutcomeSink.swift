import ErrWatchCore
import ErrWatchStore

/// Where the agent's outcomes go, whatever their source (proxy or ingest API): counted in the
/// Prometheus metrics, then handed to the batch writer, which never makes the caller wait.
struct OutcomeSink: Sendable {
    let writer: BatchWriter
    let metrics: AgentMetrics

    /// Records `outcome`; false when the writer's queue refused it (dropped and counted there).
    /// The metrics count it either way: the call happened, whether or not the database took it.
    @discardableResult
    func record(_ outcome: CallOutcome) -> Bool {
        metrics.observe(outcome)
        return writer.submit(outcome)
    }
}
