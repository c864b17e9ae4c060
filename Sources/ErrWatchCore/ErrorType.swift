/// The `type` of an API error: a closed vocabulary — the provider guide's eight and the ones
/// real traffic adds (``members``). A provider's own word for its error (`tokens`,
/// `server_error`, `BadRequestError`) is never a type: it is kept as the provider type beside
/// it, and maps into the set through ``normalize(_:)`` or the status.
public struct ErrorType: RawRepresentable, Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The type as it appears in error bodies and in errwatch's output.
    public let rawValue: String
    /// Wraps `rawValue` as sent by an upstream or a user.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// 400: the request is malformed; fix it, do not retry.
    public static let invalidRequest = ErrorType(rawValue: "invalid_request_error")
    /// 401: the API key is missing or wrong.
    public static let authentication = ErrorType(rawValue: "authentication_error")
    /// 403: the key may not do this.
    public static let permission = ErrorType(rawValue: "permission_error")
    /// 404: no such model or resource.
    public static let notFound = ErrorType(rawValue: "not_found_error")
    /// 409: a conflicting request is in flight.
    public static let conflict = ErrorType(rawValue: "conflict_error")
    /// 413: the request body is too large.
    public static let requestTooLarge = ErrorType(rawValue: "request_too_large")
    /// 422: well-formed but semantically invalid.
    public static let unprocessableEntity = ErrorType(rawValue: "unprocessable_entity_error")
    /// 402, and 429s about quota, billing or credits: the account is out of money; retrying never helps.
    public static let insufficientQuota = ErrorType(rawValue: "insufficient_quota")
    /// 429: too many requests or tokens; wait as the headers say.
    public static let rateLimit = ErrorType(rawValue: "rate_limit_error")
    /// 500: the provider failed.
    public static let `internal` = ErrorType(rawValue: "internal_error")
    /// 502: the gateway's upstream failed; retry or fall back to another model.
    public static let upstream = ErrorType(rawValue: "upstream_error")
    /// 503: the service is down for now.
    public static let serviceUnavailable = ErrorType(rawValue: "service_unavailable")
    /// 529: the provider is overloaded (Anthropic).
    public static let overloaded = ErrorType(rawValue: "overloaded_error")
    /// No response in time: a 408, a 504, or a client-side timeout.
    public static let timeout = ErrorType(rawValue: "timeout_error")
    /// No response at all: the connection could not be made or broke.
    public static let connection = ErrorType(rawValue: "connection_error")
    /// A status errwatch has no type for and a body it could not read one from.
    public static let unknown = ErrorType(rawValue: "unknown_error")

    /// Every type errwatch records; nothing else is ever a type.
    public static let members: [ErrorType] = [
        .invalidRequest, .authentication, .permission, .notFound, .conflict, .requestTooLarge, .unprocessableEntity,
        .insufficientQuota, .rateLimit, .internal, .upstream, .serviceUnavailable, .overloaded, .timeout, .connection, .unknown,
    ]

    /// Whether this is one of ``members``.
    public var isMember: Bool { Self.members.contains(self) }

    /// The type a status implies: the guide's table, 402, Cloudflare's 52x (520–523 the origin
    /// failed, 524 a timeout), Anthropic's 529; any other status has none (`unknown_error`,
    /// unless the body names a member).
    public static func forStatus(_ status: Int) -> ErrorType {
        switch status {
        case 400: .invalidRequest
        case 401: .authentication
        case 402: .insufficientQuota
        case 403: .permission
        case 404: .notFound
        case 408, 504, 524: .timeout
        case 409: .conflict
        case 413: .requestTooLarge
        case 422: .unprocessableEntity
        case 429: .rateLimit
        case 500: .internal
        case 502, 520, 521, 522, 523: .upstream
        case 503: .serviceUnavailable
        case 529: .overloaded
        default: .unknown
        }
    }

    /// The member a provider's own type or status word stands for, when it is unambiguous:
    /// OpenAI's `tokens`/`requests` and `server_error`, Anthropic's `api_error`, vLLM's
    /// `BadRequestError`, Gemini's `RESOURCE_EXHAUSTED`, a member itself. Nil for words that
    /// say nothing (`error`, `None`) or that errwatch does not know.
    public static func normalize(_ word: String) -> ErrorType? {
        let member = ErrorType(rawValue: word)
        if member.isMember { return member }
        switch word.lowercased() {
        case "tokens", "requests", "rate_limit_exceeded", "ratelimiterror", "too_many_requests", "resource_exhausted",
             "tokens_usage_based", "rate_limit":
            return .rateLimit
        case "server_error", "api_error", "internalservererror", "internal", "internal_server_error":
            return .internal
        case "badrequesterror", "invalid_argument", "invalid_request", "bad_request", "failed_precondition", "exceed_context_size_error":
            return .invalidRequest
        case "notfounderror", "not_found", "model_not_found":
            return .notFound
        case "authenticationerror", "unauthenticated", "invalid_api_key", "unauthorized":
            return .authentication
        case "permissiondeniederror", "permission_denied", "forbidden":
            return .permission
        case "unavailable", "service_unavailable_error":
            return .serviceUnavailable
        case "overloaded", "overloaded_error":
            return .overloaded
        case "deadline_exceeded", "timeout", "apitimeouterror":
            return .timeout
        case "unprocessableentityerror":
            return .unprocessableEntity
        case "conflicterror", "aborted", "already_exists":
            return .conflict
        case "billing_hard_limit_reached", "insufficient_credits", "insufficient_balance":
            return .insufficientQuota
        default:
            return nil
        }
    }

    public var description: String { rawValue }
    public static func < (lhs: ErrorType, rhs: ErrorType) -> Bool { lhs.rawValue < rhs.rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
