import AsyncAlgorithms
import ErrWatchCore
import ErrWatchStore
import Logging
import ServiceLifecycle

/// Retention the agent runs itself: at start and then every `prune_interval`, the policy
/// (`retain_*`, `max_db_size`) is applied in small transactions (``Store/prune(_:now:chunkSize:dryRun:)``),
/// which never hold the writer up for long, on a thread at the lowest CPU priority
/// (``Background``), and the freed space is given back to the file system.
/// What went is logged and counted in `/metrics`.
struct RetentionService: Service {
    let store: Store
    let policy: RetentionPolicy
    let intervalMs: Int64
    let metrics: AgentMetrics
    let logger: Logger
    let now: @Sendable () -> Int64

    func run() async throws {
        let ticks = AsyncTimerSequence(interval: .milliseconds(intervalMs), clock: .continuous).cancelOnGracefulShutdown()
        await prune()
        for await _ in ticks {
            await prune()
        }
    }

    /// One pass; a failure is logged and the next pass tries again.
    func prune() async {
        let (store, policy, at) = (store, policy, now())
        do {
            // At the lowest priority: retention waits for the proxy, never the other way round.
            let result = try await offload { try Background.withLowestPriority { try store.prune(policy, now: at) } }
            metrics.observe(result)
            guard result.rows > 0 else { return }
            var metadata: Logger.Metadata = ["rows": "\(result.rows)", "bytes_before": "\(result.bytesBefore)", "bytes_after": "\(result.bytesAfter)"]
            for cut in result.cuts {
                metadata["\(cut.kind.rawValue)_before"] = "\(Timestamp.iso8601(cut.before))"
                metadata["\(cut.kind.rawValue)_rows"] = "\(cut.rows)"
                if cut.bySize { metadata["\(cut.kind.rawValue)_reason"] = "max_db_size" }
            }
            logger.info("retention pruned old data", metadata: metadata)
        } catch {
            logger.error("retention could not prune", metadata: ["error": "\(Store.describe(error))"])
        }
    }
}
