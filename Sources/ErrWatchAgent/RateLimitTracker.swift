import ErrWatchCore
import Synchronization

/// The latest rate-limit headroom each model's responses reported
/// (`x-ratelimit-remaining-*` and `x-ratelimit-reset-*`), for the API and, later, alerts.
public final class RateLimitTracker: Sendable {
    /// One model's headroom as last reported.
    public struct Snapshot: Sendable, Hashable {
        public var model: String
        public var observedAt: Int64
        public var remainingRequests: Int64?
        public var remainingTokens: Int64?
        public var resetRequestsMs: Int64?
        public var resetTokensMs: Int64?
    }

    private let snapshots = Mutex<[String: Snapshot]>([:])
    /// Models tracked at most; beyond, new models are not tracked (cardinality stays bounded).
    static let capacity = 1_000

    public init() {}

    /// Notes the headers of a response for `model`, if they carry rate-limit headroom.
    func observe(_ headers: HTTPHeaders, model: String, at time: Int64) {
        let remainingRequests = headers["x-ratelimit-remaining-requests"].flatMap { Int64($0.trimmingSpaces()) }
        let remainingTokens = headers["x-ratelimit-remaining-tokens"].flatMap { Int64($0.trimmingSpaces()) }
        guard remainingRequests != nil || remainingTokens != nil else { return }
        let snapshot = Snapshot(
            model: model, observedAt: time, remainingRequests: remainingRequests, remainingTokens: remainingTokens,
            resetRequestsMs: headers["x-ratelimit-reset-requests"].flatMap(DurationText.milliseconds),
            resetTokensMs: headers["x-ratelimit-reset-tokens"].flatMap(DurationText.milliseconds))
        snapshots.withLock { snapshots in
            guard snapshots[model] != nil || snapshots.count < Self.capacity else { return }
            snapshots[model] = snapshot
        }
    }

    /// Every model's latest snapshot, by model.
    public var all: [Snapshot] {
        snapshots.withLock { $0.values.sorted { $0.model < $1.model } }
    }
}
