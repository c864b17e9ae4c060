import NIOCore
import NIOHTTP1

/// Carries out ``RequestOrder`` in a client connection's pipeline, right after HTTP/1 parsing and
/// in front of every handler that answers requests: it holds what arrives early, hands it on
/// when the response before it has ended, and closes the connection on a graceful stop once the
/// call under way is answered (saying so in that response's `connection` header).
final class RequestOrderHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// What was held, in arrival order, with what the order knows of it.
    private enum Held {
        case part(NIOAny, RequestOrder.Arrival)
        case error(any Error)
        case inputClosed

        var arrival: RequestOrder.Arrival {
            switch self {
            case .part(_, let arrival): arrival
            case .error: .parserError
            case .inputClosed: .inputClosed
            }
        }
    }

    private var order: RequestOrder
    private var held = CircularBuffer<Held>(initialCapacity: 0)

    init(holdLimit: Int = 64 * 1_024) {
        order = RequestOrder(holdLimit: holdLimit)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let arrival: RequestOrder.Arrival = switch unwrapInboundIn(data) {
        case .head: .head
        case .body(let body): .body(bytes: body.readableBytes)
        case .end: .end
        }
        arrive(.part(data, arrival), context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        arrive(.error(error), context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            if order.stop() { context.close(promise: nil) }
            dropWhatTheOrderDropped()
        case ChannelEvent.inputClosed:
            arrive(.inputClosed, context: context)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func read(context: ChannelHandlerContext) {
        if order.read() { context.read() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        let action = switch part {
        // A 1xx (`100 Continue`) is not the response: the request is still arriving.
        case .head(let head) where head.status.code < 200: RequestOrder.ResponseAction.write
        case .head: order.responding(.head)
        case .body: order.responding(.body)
        case .end: order.responding(.end)
        }
        switch action {
        case .write:
            context.write(data, promise: promise)
        case .writeClosing:
            guard case .head(var head) = part else { return context.write(data, promise: promise) }
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .writeEndThenClose:
            let channel = context.channel
            let written = context.write(data)
            written.whenComplete { _ in channel.close(promise: nil) }
            if let promise { written.cascade(to: promise) }
            dropWhatTheOrderDropped()
        case .writeEndThenRelease:
            context.write(data, promise: promise)
            releaseHeld(context: context)
        }
    }

    /// Something arrived: on it goes, or it waits its turn.
    private func arrive(_ item: Held, context: ChannelHandlerContext) {
        switch order.arrived(item.arrival) {
        case .deliver: deliver(item, context: context)
        case .deliverThenClose:
            deliver(item, context: context)
            context.close(promise: nil)
        case .hold: held.append(item)
        case .drop: break
        }
    }

    /// Hands on what waited, as far as the order allows. Each is taken off before it goes on: the
    /// handler it reaches may answer at once and so come back here.
    private func releaseHeld(context: ChannelHandlerContext) {
        var delivered = false
        while let first = held.first {
            let action = order.release(first.arrival)
            guard action != .hold else { break }
            held.removeFirst()
            deliver(first, context: context)
            if case .part = first { delivered = true }
            if action == .deliverThenClose { context.close(promise: nil) }
        }
        // As a socket read would end: the router's handlers take what came only at the end of a read.
        if delivered { context.fireChannelReadComplete() }
        dropWhatTheOrderDropped()
        if order.resumeReading() { context.read() }
    }

    private func deliver(_ item: Held, context: ChannelHandlerContext) {
        switch item {
        case .part(let data, _): context.fireChannelRead(data)
        case .error(let error): context.fireErrorCaught(error)
        case .inputClosed: context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
    }

    /// A graceful stop gives up on what was held: no later request is answered.
    private func dropWhatTheOrderDropped() {
        if order.held == 0, !held.isEmpty { held.removeAll() }
    }
}
