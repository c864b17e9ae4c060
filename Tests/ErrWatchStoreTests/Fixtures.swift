import ErrWatchCore
import ErrWatchStore
import Foundation

/// 2026-11-26T00:00:00Z.
let midnight: Int64 = 1_795_651_200_000

func success(_ ts: Int64, app: String = "chat", endpoint: String = "chat/completions", model: String = "gpt-4o",
             latency: Int64? = 100, count: Int = 1) -> CallOutcome {
    CallOutcome(timestamp: ts, app: app, endpoint: endpoint, model: model, status: 200, latencyMs: latency, count: count)
}

func failure(_ ts: Int64, status: Int? = 429, type: ErrorType = .rateLimit, code: String = "rate_limit_exceeded",
             message: String = "Rate limit reached", app: String = "chat", endpoint: String = "chat/completions",
             model: String = "gpt-4o", retryable: Bool = true, attempt: Int = 0) -> CallOutcome {
    CallOutcome(timestamp: ts, app: app, endpoint: endpoint, model: model, status: status,
                error: CallError(type: type, code: code, message: message, retryable: retryable),
                attempt: attempt, latencyMs: 50, requestID: "req_\(ts)")
}
