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

    /// The headers as received; parsed only when read, since they are observed on every call.
    private struct Raw: Sendable {
        var observedAt: Int64
        var remainingRequests: String?
        var remainingTokens: String?
        var resetRequests: String?
        var resetTokens: String?
    }

    private let snapshots = Mutex<[String: Raw]>([:])
    /// Models tracked at most; beyond, new models are not tracked (cardinality stays bounded).
    static let capacity = 1_000

    public init() {}

    /// Notes the headers of a response for `model`, if they carry rate-limit headroom.
    func observe(_ headers: HTTPHeaders, model: String, at time: Int64) {
        let remainingRequests = headers["x-ratelimit-remaining-requests"]
        let remainingTokens = headers["x-ratelimit-remaining-tokens"]
        guard remainingRequests != nil || remainingTokens != nil else { return }
        let snapshot = Raw(
            observedAt: time, remainingRequests: remainingRequests, remainingTokens: remainingTokens,
            resetRequests: headers["x-ratelimit-reset-requests"], resetTokens: headers["x-ratelimit-reset-tokens"])
        snapshots.withLock { snapshots in
            guard snapshots[model] != nil || snapshots.count < Self.capacity else { return }
            snapshots[model] = snapshot
        }
    }

    /// Every model's latest snapshot, by model.
    public var all: [Snapshot] {
        snapshots.withLock { $0 }.sorted { $0.key < $1.key }.map { model, raw in
            Snapshot(
                model: model, observedAt: raw.observedAt,
                remainingRequests: raw.remainingRequests.flatMap { Int64($0.trimmingSpaces()) },
                remainingTokens: raw.remainingTokens.flatMap { Int64($0.trimmingSpaces()) },
                resetRequestsMs: raw.resetRequests.flatMap(DurationText.milliseconds),
                resetTokensMs: raw.resetTokens.flatMap(DurationText.milliseconds))
        }
    }
}
