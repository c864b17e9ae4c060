import ErrWatchCore
import HTTPTypes
import NIOCore
import NIOHTTP1

/// The thin handler around ``ClientConnectionState``: it feeds the state machine the request
/// parts it sees (one request at a time: ``RequestOrderHandler`` sits in front of it), the
/// end of each response, and the raw bytes its ``ClientGuardHandler/ByteWatcher`` sees before
/// the HTTP parser; and it closes the connection when the machine says it has outstayed its
/// phase. One timer per connection, moved only when it fires early, so a call costs a clock
/// read or two, not a scheduled task.
final class ClientGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Sits first in the pipeline, before the HTTP parser, and tells the guard that bytes came:
    /// a client that sends half a head is timed from its first byte, which the parser would not report.
    final class ByteWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        let guardHandler: ClientGuardHandler

        init(_ guardHandler: ClientGuardHandler) { self.guardHandler = guardHandler }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guardHandler.bytesArrived()
            context.fireChannelRead(data)
        }
    }

    private var state: ClientConnectionState
    private let connections: ClientConnections
    private let entry: ClientConnections.Entry?
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture
    private var context: ChannelHandlerContext?

    /// A guard for a connection that `connections` admitted as `entry` (nil: refused, so it closes at once).
    init(limits: ClientConnectionState.Limits, connections: ClientConnections, entry: ClientConnections.Entry?) {
        state = ClientConnectionState(limits: limits, now: .now())
        self.connections = connections
        self.entry = entry
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        guard entry != nil else {
            context.close(promise: nil)
            return
        }
        armTimer()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        connections.leave(context.channel)
        context.fireChannelInactive()
    }

    func bytesArrived() {
        guard state.phase == .idle else { return }
        state.bytesArrived(now: .now())
        changed()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refusing { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if let refusal = Self.refusal(head) {
                refuse(refusal, version: head.version, context: context)
                return
            }
            state.requestHead(now: .now())
        case .body: state.requestBody(now: .now())
        case .end: state.requestEnd(now: .now())
        }
        changed()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            state.responseEnd(now: .now())
            changed()
        }
        context.write(data, promise: promise)
    }

    /// Whether the request being refused is still arriving (its parts are dropped).
    private var refusing = false

    /// Why no handler may see a request with `head`, as the answer to give; nil when it may.
    static func refusal(_ head: HTTPRequestHead) -> APIError? {
        if head.method == .CONNECT {
            return APIError(status: .methodNotAllowed, type: .invalidRequest, code: "method_not_allowed",
                            message: "CONNECT is refused: errwatch proxies API calls under /v1/, not tunnels.")
        }
        let hosts = head.headers["host"].count
        if head.version == .http1_1, hosts != 1 {
            return APIError.invalidRequest("invalid_host", hosts == 0
                ? "An HTTP/1.1 request needs a Host header; this one has none."
                : "An HTTP/1.1 request has exactly one Host header; this one has \(hosts).")
        }
        return nil
    }

    /// Answers `error` in the unified body and closes the connection: what follows on it
    /// cannot be trusted to be read the same way by every hop.
    private func refuse(_ error: APIError, version: HTTPVersion, context: ChannelHandlerContext) {
        refusing = true
        let body = ByteBuffer(string: error.body)
        let headers: NIOHTTP1.HTTPHeaders = ["content-type": "application/json", "content-length": String(body.readableBytes), "connection": "close"]
        let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: Int(error.status.code)), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    private func changed() {
        entry?.update(evictable: state.isEvictable)
        armTimer()
    }

    /// Makes sure a timer fires by the state's deadline. A timer set for an earlier deadline is
    /// left to fire and move itself: cheaper than moving it on every request. One set for a
    /// later deadline (idle, then a head begun) is moved forward.
    private func armTimer() {
        guard state.deadline != .distantFuture, let context else { return }
        if timer != nil {
            guard timerDeadline > state.deadline else { return }
            timer?.cancel()
        }
        timerDeadline = state.deadline
        timer = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(deadline: state.deadline) { [self] in
            timer = nil
            guard let context = self.context else { return }
            if state.expired(now: .now()) {
                connections.countTimeout()
                context.close(promise: nil)
            } else {
                armTimer()
            }
        }
    }
}
