/// Whose failure an error is, derived from its type (and, for errwatch's own answers, its
/// code): what an availability rule wants to count and what it must not.
public enum Fault: String, Sendable, Hashable, CaseIterable, Codable {
    /// The request or the credentials are wrong: the app must change something.
    case caller
    /// The provider failed or throttled.
    case provider
    /// No answer came: the connection failed or timed out.
    case network
    /// errwatch itself answered (the upstream unreachable, errwatch's own size limit).
    case errwatch

    /// The codes of errors errwatch answers itself, rather than the upstream.
    public static let errwatchCodes: Set<String> = ["upstream_connect_failed", "upstream_timeout", "request_body_too_large"]

    /// The types whose errors are the caller's to fix.
    public static let callerTypes: [ErrorType] = [
        .invalidRequest, .authentication, .permission, .notFound, .conflict, .requestTooLarge, .unprocessableEntity, .insufficientQuota,
    ]
    /// The types of calls that got no answer.
    public static let networkTypes: [ErrorType] = [.timeout, .connection]

    /// The fault of an error of `type` with `code`.
    public static func of(type: ErrorType, code: String) -> Fault {
        if errwatchCodes.contains(code) { return .errwatch }
        if callerTypes.contains(type) { return .caller }
        if networkTypes.contains(type) { return .network }
        return .provider
    }

    /// The fault of a recorded series: empty for successes (no type).
    public static func label(type: String, code: String) -> String {
        type.isEmpty ? "" : of(type: ErrorType(rawValue: type), code: code).rawValue
    }
}
