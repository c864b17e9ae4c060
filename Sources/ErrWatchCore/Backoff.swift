/// Exponential backoff with jitter, as the provider guide advises for retryable errors: the
/// wait before retry *n* is `initial × 2^(n-1)`, capped at `maximum`, of which the share
/// `jitter` is random (so clients that failed together do not retry together), and never
/// shorter than what the server asked for (`retry-after` and kin, see ``RetryDelay``) up to
/// `maximumServerDelay`.
///
/// The one rule for every retry errwatch makes: the client library's (``RetryPolicy`` in
/// ErrWatchClient), the alert notifiers' and the demo's simulated apps'.
public struct Backoff: Sendable, Hashable {
    /// The first wait.
    public var initial: Duration
    /// The longest computed wait.
    public var maximum: Duration
    /// The random share of each wait: 0.25 waits in [0.75, 1] × the step, 1 in [0, 1] × the step.
    public var jitter: Double
    /// The longest server-requested wait that is honoured.
    public var maximumServerDelay: Duration

    /// A backoff with the given steps.
    public init(initial: Duration, maximum: Duration, jitter: Double, maximumServerDelay: Duration) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
        self.maximumServerDelay = maximumServerDelay
    }

    /// The wait before retry number `retry` (1 for the first retry), `random` in [0, 1),
    /// at least `serverDelay` (capped at ``maximumServerDelay``) when the server said.
    public func delay(retry: Int, random: Double, serverDelay: Duration? = nil) -> Duration {
        let doublings = min(max(retry - 1, 0), 30)
        let step = min(initial * (1 << doublings), maximum)
        let computed = step * (1 - jitter * random)
        guard let serverDelay else { return computed }
        return max(computed, min(serverDelay, maximumServerDelay))
    }
}
