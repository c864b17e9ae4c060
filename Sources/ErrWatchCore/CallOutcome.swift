/// One API call attempt as errwatch records it: a success or an error, with the dimensions
/// every rate is grouped by.
public struct CallOutcome: Sendable, Hashable {
    /// When the attempt started, UTC milliseconds since 1970.
    public var timestamp: Int64
    /// The application that made the call.
    @RecordedDimension public var app: String
    /// The normalised route (`chat/completions`, `files/{id}`); see ``Endpoint``.
    @RecordedDimension public var endpoint: String
    /// The model asked for; empty when unknown.
    @RecordedDimension public var model: String
    /// The upstream the call went to, by the agent's name for it (`upstreams:`); empty when unknown.
    @RecordedDimension public var upstream: String
    /// The provider called (``Provider``: `openai`, `anthropic`, …); empty when unknown.
    @RecordedDimension public var provider: String
    /// The name of the agent or machine that recorded the call; the agent fills in its own
    /// (`host_name`) when empty.
    @RecordedDimension public var host: String
    /// The HTTP status, or nil when no response came (connection failure, timeout).
    public var status: Int?
    /// The error, or nil for a success.
    public var error: CallError?
    /// 0 for the first try of a call, 1 for the first retry, and so on.
    public var attempt: Int
    /// Time to the end of the response, in milliseconds, when measured.
    public var latencyMs: Int64?
    /// Time to the response headers, in milliseconds, when measured (the proxy does).
    public var timeToHeadersMs: Int64?
    /// For a stream, time to its first content chunk (``StreamScanner/sawContent``), in
    /// milliseconds, when measured; nil when no content came (or the call did not stream).
    public var timeToFirstTokenMs: Int64?
    /// For a stream, the events it carried (``StreamScanner/chunks``), when counted.
    public var chunks: Int?
    /// The upstream's request id (`x-request-id`), when sent.
    @RecordedOptionalDimension public var requestID: String?
    /// Whether the response was a server-sent event stream.
    public var streamed: Bool
    /// Whether this attempt was the last of its call (no retry or fallback followed), when the
    /// reporter knows; nil when it does not (the proxy cannot know what the app does next).
    public var finalAttempt: Bool?
    /// How many identical calls this record stands for: more than 1 only for successes
    /// that a client aggregated before reporting.
    public var count: Int

    /// An outcome with the given fields; `error` nil means success. Every text field is
    /// cleaned and redacted here (an app name or a model can be a pasted key too; see ``RecordedText``).
    public init(
        timestamp: Int64, app: String, endpoint: String, model: String = "", upstream: String = "", provider: String = "", host: String = "", status: Int?,
        error: CallError? = nil, attempt: Int = 0, latencyMs: Int64? = nil, timeToHeadersMs: Int64? = nil,
        timeToFirstTokenMs: Int64? = nil, chunks: Int? = nil, requestID: String? = nil, streamed: Bool = false, finalAttempt: Bool? = nil, count: Int = 1
    ) {
        self.timestamp = timestamp
        self.app = app
        self.endpoint = endpoint
        self.model = model
        self.upstream = upstream
        self.provider = provider
        self.host = host
        self.status = status
        self.error = error
        self.attempt = attempt
        self.latencyMs = latencyMs
        self.timeToHeadersMs = timeToHeadersMs
        self.timeToFirstTokenMs = timeToFirstTokenMs
        self.chunks = chunks
        self.requestID = requestID
        self.streamed = streamed
        self.finalAttempt = finalAttempt
        self.count = count
    }

    /// Whether this attempt failed.
    public var isError: Bool { error != nil }
}

/// What went wrong in a failed call attempt, as classified from its response.
public struct CallError: Sendable, Hashable {
    /// The error type (`rate_limit_error`, …).
    public var type: ErrorType {
        get { storedType }
        set { storedType = ErrorType(rawValue: RecordedText.dimension(newValue.rawValue)) }
    }
    /// The provider's code (`rate_limit_exceeded`, `invalid_api_key`), empty when none was sent.
    @RecordedDimension public var code: String
    /// The message, cleaned, redacted and cut to ``CallError/maxMessageLength`` characters (``RecordedMessage``).
    @RecordedMessage public var message: String
    /// The provider's own type as it sent it (`tokens`, `server_error`, Gemini's `status`),
    /// empty when none; ``type`` is errwatch's member of the closed set.
    @RecordedDimension public var providerType: String
    /// The provider's own code as it sent it (a number written as text), empty when none;
    /// ``code`` is the normalised one.
    @RecordedDimension public var providerCode: String
    /// Whether the guide says to retry (an `x-should-retry` header overrides).
    public var retryable: Bool
    /// How long the server asked the client to wait, in milliseconds, when it said.
    public var retryAfterMs: Int64?

    /// Longest message errwatch keeps, in characters.
    public static let maxMessageLength = 1_000

    private var storedType: ErrorType

    /// An error; every text is cleaned and redacted, and `message` cut to length, here (``RecordedText``).
    public init(type: ErrorType, code: String = "", message: String, retryable: Bool, retryAfterMs: Int64? = nil,
                providerType: String = "", providerCode: String = "") {
        storedType = ErrorType(rawValue: RecordedText.dimension(type.rawValue))
        self.code = code
        self.message = message
        self.providerType = providerType
        self.providerCode = providerCode
        self.retryable = retryable
        self.retryAfterMs = retryAfterMs
    }

    /// Whose failure this is (``Fault``).
    public var fault: Fault { Fault.of(type: type, code: code) }
}
