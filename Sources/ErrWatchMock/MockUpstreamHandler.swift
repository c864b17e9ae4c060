import ErrWatchAgent
import Foundation
import NIOCore
import NIOHTTP1

/// Serves the fake API in each connection's pipeline, right after HTTP/1 parsing: a load test
/// through errwatch should measure errwatch, not the fake, so the fake answers without the
/// router, its async bridge or a conversion to HTTP types. Latency and the pauses of a stream
/// are timers on the connection's event loop. Routes the fake does not serve pass on to the
/// router, which answers 404.
final class MockUpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case collecting(HTTPRequestHead, MockUpstream.Route, ByteBuffer)
        /// Answering, or waiting out the latency before answering.
        case answering(HTTPRequestHead)
        /// The rest of a request that was refused (too large) is read and dropped.
        case discarding
    }

    private let mock: MockUpstream
    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var pending: Scheduled<Void>?
    /// A stream under way, counted as abandoned if the connection goes first.
    private var streaming = false
    private var passage = FrontPassage()

    init(_ mock: MockUpstream) {
        self.mock = mock
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if passage.passOn(part, data, context: context) { return }
        switch (state, part) {
        case (.idle, .head(let request)):
            let head = FrontPassage.continueIfExpected(request, context: context)
            if let route = MockUpstream.Route(method: head.method.rawValue, uri: head.uri) {
                state = .collecting(head, route, context.channel.allocator.buffer(capacity: 0))
            } else {
                passage.giveToRouter(head, context: context)
            }
        case (.collecting(let head, let route, var body), .body(var chunk)):
            guard body.readableBytes + chunk.readableBytes <= mock.configuration.maxBodyBytes else {
                state = .discarding
                var refused = mock.error(413, model: "", requestID: "req_too_large")
                refused.headers.append(("connection", "close"))
                write(refused, to: head, context: context)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            body.writeBuffer(&chunk)
            state = .collecting(head, route, body)
        case (.collecting(let head, let route, let body), .end):
            state = .answering(head)
            let header = { (name: String) in head.headers.first(name: name) }
            let plan = mock.plan(header: header)
            let reply = mock.reply(route, header: header, body: body, plan: plan)
            if plan.latencyMs > 0 {
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                pending = context.eventLoop.scheduleTask(in: .milliseconds(plan.latencyMs)) { bound.value.answer(reply, to: head) }
            } else {
                answer(reply, to: head)
            }
        case (.discarding, .end):
            context.close(promise: nil)
        case (.discarding, _):
            break
        default:
            // A new request before the last one was answered: the request order in front of
            // this handler prevents it; refuse to mix them up.
            context.close(promise: nil)
        }
    }

    private func answer(_ reply: MockUpstream.Reply, to head: HTTPRequestHead) {
        guard let context else { return }
        pending = nil
        if reply.events.isEmpty && !reply.cut {
            write(reply, to: head, context: context)
            finish(head)
            return
        }
        var headers = HTTPHeaders(reply.headers)
        // HTTP/1.0 has no chunked encoding: the stream ends with the connection.
        var head = head
        if head.version == .http1_0 { head.headers.replaceOrAdd(name: "connection", value: "close") }
        if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: reply.status), headers: headers))),
                      promise: nil)
        streaming = true
        stream(reply, from: 0, to: head)
    }

    /// Writes the stream's events from `index` on, pausing between them.
    private func stream(_ reply: MockUpstream.Reply, from index: Int, to head: HTTPRequestHead) {
        guard let context else { return }
        pending = nil
        if index == reply.events.count {
            streaming = false
            if reply.cut {
                context.flush()
                context.close(promise: nil)
                return
            }
            finish(head)
            return
        }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: reply.events[index])))), promise: nil)
        let delay = index == 0 ? max(reply.firstTokenDelayMs, reply.eventDelayMs) : reply.eventDelayMs
        if delay > 0, index + 1 < reply.events.count - (reply.endsWithDone ? 1 : 0) {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            pending = context.eventLoop.scheduleTask(in: .milliseconds(delay)) {
                bound.value.stream(reply, from: index + 1, to: head)
            }
        } else {
            stream(reply, from: index + 1, to: head)
        }
    }

    /// A whole reply's head and body; ``finish(_:)`` writes its end.
    private func write(_ reply: MockUpstream.Reply, to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let body = reply.rawBody.map { ByteBuffer(bytes: $0) } ?? ByteBuffer(string: reply.body)
        var headers = HTTPHeaders(reply.headers)
        headers.add(name: "content-length", value: String(body.readableBytes))
        if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: reply.status), headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
    }

    /// The request is answered: its end goes out, and the connection takes the next one, or closes.
    private func finish(_ head: HTTPRequestHead) {
        // Idle before the end is written: the request order hands on the next pipelined
        // request as the end passes it, and that request re-enters this handler at once.
        state = .idle
        context?.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if !head.isKeepAlive { context?.close(promise: nil) }
        passage.callEnded(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending?.cancel()
        pending = nil
        if streaming {
            streaming = false
            mock.countAbandoned()
        }
        state = .idle
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A graceful stop lets the request being answered finish first.
        let busy = switch state {
        case .collecting, .answering: true
        case .idle, .discarding: false
        }
        if passage.hold(event, busy: busy) { return }
        context.fireUserInboundEventTriggered(event)
    }
}
