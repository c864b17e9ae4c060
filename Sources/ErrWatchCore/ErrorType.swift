/// The `type` of an API error: the provider guide's eight, the ones real traffic adds, and
/// whatever an upstream sends that errwatch does not know yet (kept as sent).
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

    /// The type a status implies when the body names none.
    public static func forStatus(_ status: Int) -> ErrorType {
        switch status {
        case 400: .invalidRequest
        case 401: .authentication
        case 403: .permission
        case 404: .notFound
        case 408, 504: .timeout
        case 409: .conflict
        case 413: .requestTooLarge
        case 422: .unprocessableEntity
        case 429: .rateLimit
        case 500: .internal
        case 502: .upstream
        case 503: .serviceUnavailable
        case 529: .overloaded
        default: .unknown
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
