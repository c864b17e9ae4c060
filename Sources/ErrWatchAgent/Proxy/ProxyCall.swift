import ErrWatchCore
import NIOCore
import NIOHTTP1

/// One proxied call from the moment its request leaves for the upstream to its one recorded
/// outcome, as a state machine without I/O (in the way async-http-client keeps
/// `HTTP1ConnectionStateMachine` apart from its channel handler). Events from the upstream, the
/// client and the clock go in, each with the time it happened; what to do comes out: forward a
/// head or a chunk, answer with errwatch's own 502 or 504, cut the response, and the call's
/// ``CallOutcome``, exactly once.
///
/// Both proxy paths drive it: ``FastProxyHandler`` on the event loop and ``ProxyController``
/// for the router's requests, so the response's header rules, deadlines and recorded errors
/// are written once, here.
struct ProxyCall: Sendable {
    enum State: Sendable, Equatable {
        /// Waiting for an upstream connection.
        case connecting
        /// The request is upstream; no response head yet.
        case awaitingHead
        /// The response is coming.
        case responding
        /// The outcome is out; nothing more happens.
        case ended
    }

    /// A response head, as the client gets it.
    struct ForwardedHead: Sendable {
        var status: HTTPResponseStatus
        /// The upstream's headers without hop-by-hop ones and those its `Connection` header
        /// names, `content-length` included (``contentLength`` has it), plus `connection` when
        /// the client connection's fate needs saying.
        var headers: NIOHTTP1.HTTPHeaders
        var contentLength: Int?
        /// The headers the recording reads (``ProxyHeaders/isRecorded(_:isError:)``), lower-cased.
        var recorded: ErrWatchCore.HTTPHeaders
    }

    /// How the call ends when something other than the response's end ends it.
    enum Ending: Sendable {
        /// No response head came: errwatch answers the client itself (502, 504).
        case answer(APIError, CallOutcome)
        /// The response broke off (upstream gone, or silent too long): the client's response
        /// cannot end well, so its connection closes, and so does the upstream's.
        case cut(CallOutcome)
    }

    private(set) var state = State.connecting
    /// What is known of the call from its request.
    private(set) var info: CallInfo
    /// The client's HTTP version, which its response carries.
    let version: HTTPVersion
    /// Whether the client connection stays open after this call.
    private(set) var keepAlive: Bool
    /// How long the upstream has to send its response head.
    let timeoutMs: Int64
    /// The longest silence allowed within a response.
    let silenceMs: Int64
    /// The upstream's base URL, as messages name it.
    let upstream: String

    /// Its place among the calls in flight (``InflightCalls``), set by whoever registered it.
    var inflight: InflightCalls.Ticket?

    private var headersDeadline = NIODeadline.distantFuture
    private var lastRead = NIODeadline.distantFuture
    private var status = 0
    private var recorded = ErrWatchCore.HTTPHeaders()
    private var inspector = ResponseInspector(status: 0, isStream: false, now: 0)
    private var isStream = false
    private var timeToHeaders: TimeAmount?
    private var timeToFirstToken: TimeAmount?

    /// A call whose client speaks `version` and asked to keep its connection or not. The
    /// response head is due within `timeout`, else `stream_timeout` for a streamed request
    /// and `timeout` for others.
    init(call: CallInfo, version: HTTPVersion = .http1_1, keepAlive: Bool = true, timeoutMs: Int64? = nil,
         configuration: AgentConfiguration) {
        self.info = call
        self.version = version
        self.keepAlive = keepAlive
        self.timeoutMs = timeoutMs ?? (call.fields.stream ? configuration.streamTimeoutMs : configuration.timeoutMs)
        silenceMs = configuration.streamTimeoutMs
        upstream = call.upstreamURL
    }

    /// What the request said, learned after it left (a streamed body's model, read from its
    /// first bytes as they went).
    mutating func learned(_ fields: RequestFields) {
        info.fields = fields
    }

    /// When ``deadlinePassed(at:)`` is next due, or nil when no deadline runs.
    var deadline: NIODeadline? {
        switch state {
        case .connecting, .ended: nil
        case .awaitingHead: headersDeadline
        case .responding: lastRead + .milliseconds(silenceMs)
        }
    }

    /// The request went upstream at `now`: the response head is due within ``timeoutMs``.
    mutating func sent(at now: NIODeadline) {
        guard state == .connecting else { return }
        state = .awaitingHead
        headersDeadline = now + .milliseconds(timeoutMs)
    }

    /// The upstream's response head: what the client gets, and the headers recorded.
    mutating func responseHead(_ head: HTTPResponseHead, at now: NIODeadline) -> ForwardedHead {
        state = .responding
        lastRead = now
        timeToHeaders = now - info.started
        status = Int(head.status.code)
        let isError = status >= 400
        var pairs: [(String, String)] = []
        var forwarded = NIOHTTP1.HTTPHeaders()
        forwarded.reserveCapacity(head.headers.count + 1)
        var contentLength: Int?
        let named = ProxyHeaders.connectionOptions(head.headers["connection"])
        for (rawName, value) in head.headers {
            let name = rawName.lowercased()
            if ProxyHeaders.isRecorded(name, isError: isError) { pairs.append((name, value)) }
            if name == "content-length" { contentLength = Int(value) }
            if ProxyHeaders.hopByHop.contains(name) || named.contains(name) { continue }
            forwarded.add(name: rawName, value: value)
        }
        // HTTP/1.0 has no chunked encoding: a body of unknown length ends with the connection.
        if version == .http1_0 && contentLength == nil { keepAlive = false }
        if !keepAlive {
            forwarded.add(name: "connection", value: "close")
        } else if version == .http1_0 {
            forwarded.add(name: "connection", value: "keep-alive")
        }
        recorded = ErrWatchCore.HTTPHeaders(pairs)
        isStream = ProxyHeaders.isEventStream(recorded)
        inspector = ResponseInspector(status: status, isStream: isStream, now: info.startedAt)
        return ForwardedHead(status: head.status, headers: forwarded, contentLength: contentLength, recorded: recorded)
    }

    /// A chunk of the response, on its way to the client: inspected (the start of an error
    /// body, or the events of a stream, noting when the first content came), never copied.
    mutating func responseBody(_ chunk: ByteBuffer, at now: NIODeadline) {
        lastRead = now
        inspector.feed(chunk)
        if timeToFirstToken == nil, isStream, inspector.sawContent { timeToFirstToken = now - info.started }
    }

    /// The response ended: its outcome, recorded before the client sees the end, so whoever
    /// got the response finds it recorded.
    mutating func responseEnd(at now: NIODeadline) -> CallOutcome? {
        guard state == .responding else { return nil }
        state = .ended
        return outcome(status: status, error: inspector.error(headers: recorded), at: now)
    }

    /// The upstream connection failed or closed, with `error` when one was reported.
    /// `timedOut` says the upstream's client library gave up waiting for the head.
    mutating func upstreamFailed(_ error: (any Error)?, timedOut: Bool = false, at now: NIODeadline) -> Ending? {
        switch state {
        case .connecting, .awaitingHead:
            return answer(failure: error ?? ChannelError.eof, timedOut: timedOut, at: now)
        case .responding:
            state = .ended
            let cut = ProxyHeaders.streamInterrupted(error.map(ProxyHeaders.failureReason) ?? "the connection closed")
            return .cut(outcome(status: status, error: inspector.error(headers: recorded) ?? cut, at: now))
        case .ended:
            return nil
        }
    }

    /// The client hung up before the response ended: recorded as 499 (unless the response
    /// already carried its own error); the upstream request is to be cancelled.
    mutating func clientClosed(at now: NIODeadline) -> CallOutcome? {
        guard state != .ended else { return nil }
        state = .ended
        return outcome(status: 499, error: inspector.error(headers: recorded) ?? ProxyHeaders.clientClosed, at: now)
    }

    /// The clock reached ``deadline``: nil while it has moved on (a chunk came), else 504 when
    /// no head came in time, or the response cut when it fell silent.
    mutating func deadlinePassed(at now: NIODeadline) -> Ending? {
        guard let deadline, now >= deadline else { return nil }
        switch state {
        case .awaitingHead:
            return answer(failure: nil, timedOut: true, at: now)
        case .responding:
            state = .ended
            let silent = ProxyHeaders.streamInterrupted("it sent nothing for \(DurationText.format(silenceMs))")
            return .cut(outcome(status: status, error: inspector.error(headers: recorded) ?? silent, at: now))
        case .connecting, .ended:
            return nil
        }
    }

    private mutating func answer(failure: (any Error)?, timedOut: Bool, at now: NIODeadline) -> Ending {
        state = .ended
        timeToHeaders = nil
        let (answer, error) = ProxyHeaders.upstreamFailure(timeoutMs: timedOut ? timeoutMs : nil, upstream: upstream, failure: failure)
        return .answer(answer, outcome(status: nil, error: error, streamed: false, at: now))
    }

    private func outcome(status: Int?, error: CallError?, streamed: Bool? = nil, at now: NIODeadline) -> CallOutcome {
        var outcome = info.outcome(status: status, error: error, requestID: ProxyHeaders.requestID(recorded), streamed: streamed ?? isStream,
                                   timeToHeaders: timeToHeaders, at: now)
        if outcome.streamed {
            outcome.timeToFirstTokenMs = timeToFirstToken.map { Int64($0.nanoseconds / 1_000_000) }
            outcome.chunks = inspector.chunks
        }
        return outcome
    }
}
