import NIOCore
import NIOHTTP1

/// The thin handler around ``ClientConnectionState``: it feeds the state machine the request
/// parts it sees (one request at a time: NIO's pipelining assistance sits in front of it), the
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
        switch unwrapInboundIn(data) {
        case .head: state.requestHead(now: .now())
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
