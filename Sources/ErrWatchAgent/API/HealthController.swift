import ErrWatchCore
import ErrWatchStore
import Hummingbird
import HTTPTypes
import NIOCore
import Synchronization

/// `/healthz`: the process is up. `/readyz`: the database takes writes and the writer has
/// dropped nothing in the last ``dropWindow``. Every poller gets the same answer: a drop is
/// judged by when it happened, not by who asked last.
struct HealthController<Context: RequestContext>: Sendable {
    let store: Store
    let writer: BatchWriter
    /// How long after a drop `/readyz` says so: longer than any poller's interval.
    static var dropWindow: Duration { .seconds(60) }

    func addRoutes(to router: Router<Context>) {
        router.get("/healthz") { _, _ in
            APIController<Context>.json(status: .ok, .object([("status", .string("ok"))]), layout: .spaced)
        }
        router.get("/readyz") { _, _ in try await ready() }
    }

    func ready() async throws -> Response {
        let statistics = writer.statistics
        do {
            // Takes the write lock and changes nothing: fails when the file is read-only, full or locked.
            try await offload { try store.checkWritable() }
        } catch {
            throw APIError(status: .serviceUnavailable, type: .serviceUnavailable, code: "database_not_writable",
                           message: "The database does not take writes: \(Store.describe(error)); proxied traffic still flows, its outcomes are dropped and counted.")
        }
        if let last = statistics.lastDropAt, last.duration(to: .now) < Self.dropWindow {
            let ago = last.duration(to: .now).components.seconds
            throw APIError(status: .serviceUnavailable, type: .serviceUnavailable, code: "recording_dropped",
                           message: "Outcomes were dropped \(ago) s ago (\(statistics.droppedQueueFull) in all for a full queue, \(statistics.droppedWriteFailed) for failed writes); ready again \(Self.dropWindow.components.seconds) s after the last drop.")
        }
        return APIController<Context>.json(status: .ok, .object([
            ("status", .string("ready")), ("queued", .integer(Int64(statistics.queued))),
            ("written", .integer(Int64(statistics.written))), ("dropped", .integer(Int64(statistics.dropped))),
        ]), layout: .spaced)
    }
}
