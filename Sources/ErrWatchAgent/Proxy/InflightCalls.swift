import ErrWatchCore
import Synchronization

/// The proxied calls under way: begun when the request has been read, ended when the call's
/// outcome is recorded. Hanging rules judge them, `GET /api/v1/inflight` lists them by model
/// and `/metrics` counts them. Two short lock holds per call.
final class InflightCalls: Sendable {
    private struct State {
        var next: UInt64 = 0
        var calls: [UInt64: InflightCall] = [:]
    }

    private let state = Mutex(State())

    /// A registered call's place in the table: ended explicitly when the call's outcome is
    /// recorded, and in any case when the last reference to it goes (a response whose body
    /// was never written, a connection torn down), so no call stays "in flight" for ever.
    final class Ticket: Sendable {
        let key: UInt64
        private let calls: InflightCalls
        /// Whether the call has left the table: the lock is taken once per call, not again.
        private let ended = Atomic(false)

        fileprivate init(key: UInt64, calls: InflightCalls) {
            self.key = key
            self.calls = calls
        }

        func end() {
            if !ended.exchange(true, ordering: .relaxed) { calls.end(key) }
        }

        deinit { end() }
    }

    /// Registers `call` until its ticket ends.
    func begin(_ call: InflightCall) -> Ticket {
        let key = state.withLock { state in
            state.next += 1
            state.calls[state.next] = call
            return state.next
        }
        return Ticket(key: key, calls: self)
    }

    /// The call of `key` is over (again: a no-op).
    private func end(_ key: UInt64) {
        _ = state.withLock { $0.calls.removeValue(forKey: key) }
    }

    /// The calls under way now.
    var snapshot: [InflightCall] { state.withLock { Array($0.calls.values) } }

    /// How many are under way.
    var count: Int { state.withLock { $0.calls.count } }

    /// Per model (empty: not known yet), the calls under way and when the oldest began; the
    /// busiest first.
    static func byModel(_ calls: [InflightCall]) -> [(model: String, calls: Int, oldestStartedAt: Int64)] {
        var models: [String: (calls: Int, oldest: Int64)] = [:]
        for call in calls {
            let entry = models[call.model] ?? (0, call.startedAt)
            models[call.model] = (entry.calls + 1, min(entry.oldest, call.startedAt))
        }
        return models.map { (model: $0.key, calls: $0.value.calls, oldestStartedAt: $0.value.oldest) }
            .sorted { ($0.calls, $1.model) > ($1.calls, $0.model) }
    }

    /// `GET /api/v1/inflight`'s answer: the calls under way, the oldest's age, and per model
    /// (busiest first) the calls and the oldest's age, in milliseconds.
    static func report(_ calls: [InflightCall], now: Int64) -> String {
        let oldest = calls.map(\.startedAt).min()
        let models = byModel(calls).map { entry in
            JSONOutput.object([("model", .string(entry.model)), ("calls", .integer(Int64(entry.calls))),
                               ("oldest_ms", .integer(max(0, now - entry.oldestStartedAt)))])
        }
        return JSONOutput.object([
            ("calls", .integer(Int64(calls.count))), ("streaming", .integer(Int64(calls.filter(\.streaming).count))),
            ("oldest_ms", oldest.map { .integer(max(0, now - $0)) } ?? .null), ("by_model", .array(models)),
        ]).text() + "\n"
    }
}
