import ErrWatchCore

/// A failed call, as the provider's API (or the network) reported it, after any retries and
/// fallbacks the policy allowed. Classified by errwatch's one classifier.
public struct APIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status, or nil when no response came (connection failure, timeout).
    public var status: Int?
    /// The error type (`rate_limit_error`, `connection_error`, …).
    public var type: ErrorType
    /// The provider's code, empty when none was sent.
    public var code: String
    /// The message, with any API key masked.
    public var message: String
    /// Whether the guide would retry it (the policy may have run out of retries or time).
    public var retryable: Bool
    /// The upstream's request id, when sent.
    public var requestID: String?
    /// How long the server asked to wait, when it said.
    public var retryAfter: Duration?
    /// Attempts made for the call, all models together.
    public var attempts: Int
    /// The model of the last attempt.
    public var model: String
    /// The provider's own type and code as it sent them (errwatch's are ``type`` and ``code``).
    public var providerType = ""
    public var providerCode = ""

    /// Whose failure this is.
    public var fault: Fault { Fault.of(type: type, code: code) }

    public var description: String {
        "\(status.map { "HTTP \($0) " } ?? "")\(type.rawValue)\(code.isEmpty ? "" : " (\(code))"): \(message) after \(attempts) attempt\(attempts == 1 ? "" : "s")"
    }
}

extension APIError {
    /// The error a classified attempt failed with.
    init(_ error: CallError, status: Int?, requestID: String?, attempts: Int, model: String) {
        self.init(status: status, type: error.type, code: error.code, message: error.message, retryable: error.retryable,
                  requestID: requestID, retryAfter: error.retryAfterMs.map { .milliseconds($0) }, attempts: attempts, model: model,
                  providerType: error.providerType, providerCode: error.providerCode)
    }
}
