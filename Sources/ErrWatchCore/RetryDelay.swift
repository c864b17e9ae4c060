/// Reads how long a server asks a client to wait before retrying.
///
/// In order of precedence: `retry-after-ms` (milliseconds, OpenAI), `retry-after` (seconds or
/// an HTTP date), then the rate-limit reset headers `x-ratelimit-reset-requests` and
/// `x-ratelimit-reset-tokens` (Go durations such as `6m0s` or `20ms`). Of the two resets, the
/// one whose `x-ratelimit-remaining-*` is 0 is the limit that was hit; when that is not said,
/// the longer reset is the safe wait.
public enum RetryDelay {
    /// The delay in milliseconds, or nil when the headers say nothing usable.
    public static func milliseconds(from headers: HTTPHeaders, now: Int64) -> Int64? {
        if let text = headers["retry-after-ms"], let value = Double(text.trimmingSpaces()), value.isFinite, value >= 0, value < 9e15 {
            return Int64(value.rounded(.up))
        }
        if let text = headers["retry-after"] {
            let trimmed = String(text.trimmingSpaces())
            if let seconds = Double(trimmed), seconds.isFinite, seconds >= 0, seconds < 9e12 {
                return Int64((seconds * 1_000).rounded(.up))
            }
            if let date = Timestamp.parseHTTPDate(trimmed) {
                return max(0, date - now)
            }
        }
        let requests = headers["x-ratelimit-reset-requests"].flatMap(DurationText.milliseconds)
        let tokens = headers["x-ratelimit-reset-tokens"].flatMap(DurationText.milliseconds)
        let requestsExhausted = headers["x-ratelimit-remaining-requests"].map { $0.trimmingSpaces() == "0" } ?? false
        let tokensExhausted = headers["x-ratelimit-remaining-tokens"].map { $0.trimmingSpaces() == "0" } ?? false
        switch (requestsExhausted, tokensExhausted) {
        case (true, false) where requests != nil: return requests
        case (false, true) where tokens != nil: return tokens
        default:
            let known = [requests, tokens].compactMap { $0 }
            return known.max()
        }
    }
}
