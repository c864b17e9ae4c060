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

    /// The fault of an error of `type` with `code`.
    public static func of(type: ErrorType, code: String) -> Fault {
        if errwatchCodes.contains(code) { return .errwatch }
        switch type {
        case .invalidRequest, .authentication, .permission, .notFound, .conflict, .requestTooLarge, .unprocessableEntity,
             .insufficientQuota:
            return .caller
        case .timeout, .connection:
            return .network
        default:
            return .provider
        }
    }
}
