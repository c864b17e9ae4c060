import ErrWatchCore

/// How ``ErrWatchClient`` retries, times out and falls back, as the provider guide advises.
/// Every number can be changed; the defaults are the ones documented here.
public struct RetryPolicy: Sendable, Hashable {
    /// Retries after the first attempt, per model (default 3).
    public var maxRetries = 3
    /// The first backoff (default 0.5 s); each retry doubles it…
    public var initialBackoff: Duration = .milliseconds(500)
    /// …up to this cap (default 8 s).
    public var maxBackoff: Duration = .seconds(8)
    /// The share of each backoff that is random (default 0.25: a wait lies in [0.75, 1] × backoff),
    /// so clients that failed together do not retry together.
    public var jitter = 0.25
    /// The longest server-requested wait (`retry-after…`, `x-ratelimit-reset-requests`) that is
    /// honoured (default 120 s). A longer one is not waited for: the call fails with the delay.
    public var maxServerDelay: Duration = .seconds(120)
    /// Time allowed for one request (default 60 s) and for a streaming one (default 300 s).
    public var timeout: Duration = .seconds(60)
    public var streamTimeout: Duration = .seconds(300)
    /// Time allowed to connect (default 10 s).
    public var connectTimeout: Duration = .seconds(10)
    /// Time allowed for a whole call, all attempts and waits included (default none).
    public var deadline: Duration?
    /// Models to try in order after the requested one fails with 502 or 503, or exhausts its
    /// retries with a retryable error (default none).
    public var fallbackModels: [String] = []
    /// Instead of falling back here, ask an OfoxAI gateway to do it: the fallback models are sent
    /// as the request's `provider.fallback` parameter (default off).
    public var gatewayFallback = false

    /// The defaults.
    public init() {}

    /// The backoff these settings describe (the one rule every retry in errwatch follows).
    public var backoff: Backoff {
        Backoff(initial: initialBackoff, maximum: maxBackoff, jitter: jitter, maximumServerDelay: maxServerDelay)
    }

    /// The wait before retry number `retry` (1 for the first retry), `random` in [0, 1).
    public func backoff(retry: Int, random: Double) -> Duration {
        backoff.delay(retry: retry, random: random)
    }
}
