import ErrWatchCore

/// Realistic, reproducible outcomes for the benchmarks: four apps, the common endpoints, the
/// models an OpenAI-compatible gateway serves, and an error mix across the whole taxonomy.
public struct BenchData {
    static let apps = ["chat-web", "support-bot", "batch-summarizer", "search"]
    static let chatModels = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro", "deepseek-v3"]
    /// An error kind and how often it occurs, out of 1,000 errors.
    static let errorMix: [(weight: Int, status: Int?, type: ErrorType, code: String, message: String)] = [
        (400, 429, .rateLimit, "rate_limit_exceeded", "Rate limit reached for requests. Limit: 500 / min. Please try again in 1.2s."),
        (100, 500, .internal, "internal_error", "The server had an error while processing your request."),
        (150, 502, .upstream, "upstream_error", "Upstream provider returned an invalid response."),
        (100, 503, .serviceUnavailable, "service_unavailable", "The engine is currently overloaded, please try again later."),
        (80, 400, .invalidRequest, "context_length_exceeded", "This model's maximum context length is 128000 tokens."),
        (30, 401, .authentication, "invalid_api_key", "Incorrect API key provided: sk-***a1b2."),
        (30, 404, .notFound, "model_not_found", "The model 'gpt-5-turbo' does not exist or you do not have access to it."),
        (10, 403, .permission, "insufficient_permissions", "You do not have access to this model."),
        (50, nil, .timeout, "timeout", "No response from upstream within 60s."),
        (30, nil, .connection, "connection_failed", "Connection refused by upstream."),
        (20, 529, .overloaded, "overloaded", "Overloaded"),
    ]

    var random: SplitMix64
    private let cumulative: [Int]

    /// Outcomes drawn from `seed`: the same seed, the same outcomes.
    public init(seed: UInt64 = 42) {
        random = SplitMix64(seed: seed)
        var total = 0
        cumulative = Self.errorMix.map { total += $0.weight; return total }
    }

    /// One outcome at `timestamp`; an error with probability `errorShare`.
    public mutating func outcome(at timestamp: Int64, errorShare: Double) -> CallOutcome {
        let app = Self.apps[random.below(Self.apps.count)]
        let roll = random.below(100)
        let (endpoint, model): (String, String) = switch roll {
        case ..<70: ("chat/completions", Self.chatModels[random.below(Self.chatModels.count)])
        case ..<90: ("embeddings", "text-embedding-3-small")
        case ..<95: ("responses", Self.chatModels[random.below(2)])
        default: ("images/generations", "gpt-image-1")
        }
        let latency = Int64(80 + random.below(2_000))
        guard random.unit() < errorShare else {
            return CallOutcome(timestamp: timestamp, app: app, endpoint: endpoint, model: model, status: 200, latencyMs: latency)
        }
        let pick = random.below(cumulative.last!)
        let kind = Self.errorMix[cumulative.firstIndex { pick < $0 }!]
        return CallOutcome(
            timestamp: timestamp, app: app, endpoint: endpoint, model: model, status: kind.status,
            error: CallError(type: kind.type, code: kind.code, message: kind.message,
                             retryable: Classifier.retryable(status: kind.status, type: kind.type)),
            attempt: random.below(10) == 0 ? 1 : 0, latencyMs: latency,
            requestID: "req_\(String(random.next(), radix: 16))")
    }
}
