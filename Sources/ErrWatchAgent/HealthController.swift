import ErrWatchCore
import ErrWatchStore
import Hummingbird
import HTTPTypes
import NIOCore
import Synchronization

/// `/healthz`: the process is up. `/readyz`: the database takes writes and the writer has
/// not dropped anything since the previous check.
struct HealthController<Context: RequestContext>: Sendable {
    let store: Store
    let writer: BatchWriter
    let lastDropped = DropCounter()

    func addRoutes(to router: Router<Context>) {
        router.get("/healthz") { _, _ in
            APIController<Context>.json(status: .ok, "{\"status\": \"ok\"}\n")
        }
        router.get("/readyz") { _, _ in try await ready() }
    }

    func ready() async throws -> Response {
        let statistics = writer.statistics
        let newDrops = lastDropped.advance(to: statistics.dropped)
        do {
            // Takes the write lock and changes nothing: fails when the file is read-only, full or locked.
            try await offload { try store.checkWritable() }
        } catch {
            throw APIError(status: .serviceUnavailable, type: .serviceUnavailable, code: "database_not_writable",
                           message: "The database does not take writes: \(Store.describe(error)); proxied traffic still flows, its outcomes are dropped and counted.")
        }
        guard newDrops == 0 else {
            throw APIError(status: .serviceUnavailable, type: .serviceUnavailable, code: "recording_dropped",
                           message: "\(newDrops) outcomes were dropped since the previous check (\(statistics.droppedQueueFull) in all for a full queue, \(statistics.droppedWriteFailed) for failed writes).")
        }
        return APIController<Context>.json(status: .ok, """
            {"status": "ready", "queued": \(statistics.queued), "written": \(statistics.written), "dropped": \(statistics.dropped)}

            """)
    }
}

/// The drop count seen at the previous readiness check.
final class DropCounter: Sendable {
    private let seen = Mutex(0)

    /// How many drops happened since the previous call; remembers `total`.
    func advance(to total: Int) -> Int {
        seen.withLock { seen in
            defer { seen = total }
            return total - seen
        }
    }
}
