import ErrWatchCore
import ErrWatchStore
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1

/// The proxy's fast path, below the router: a channel handler in each client connection's
/// pipeline, right after HTTP/1 parsing (so in NIOHTTP1's types, with no conversion to HTTP types
/// either way), that takes the common call — `/v1/*` with a body of known length up to 64 KiB — and
/// forwards it over a pooled keep-alive upstream connection on the same event loop (plain HTTP
/// or TLS, as the upstream URL says), streaming the response back as it comes. Everything else (chunked or larger bodies, odd paths, and
/// every other route) passes on to the router untouched, where ``ProxyController`` and the API
/// handle it. It records exactly what the router's proxy records.
final class FastProxyHandler: ChannelDuplexHandler, RemovableChannelHandler, UpstreamDelegate {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// What every connection's handler shares: one instance, so that a handler (one per client
    /// connection, thousands with long streams) holds a reference rather than its own copy of
    /// the configuration (which made each handler 880 bytes).
    final class Shared: Sendable {
        let configuration: AgentConfiguration
        /// The upstreams (``AgentConfiguration/routes``) and, for each, its connection pools;
        /// nil for one the fast path cannot reach (the router's proxy serves it).
        let routes: [Upstream]
        let pools: [UpstreamPools?]
        let sink: OutcomeSink
        let rateLimits: RateLimitTracker
        let now: @Sendable () -> Int64
        /// When the router's requests get `100 Continue`.
        let continues: ContinuePolicy

        init(configuration: AgentConfiguration, routes: [Upstream], pools: [UpstreamPools?], sink: OutcomeSink,
             rateLimits: RateLimitTracker, now: @escaping @Sendable () -> Int64, continues: ContinuePolicy) {
            self.configuration = configuration
            self.routes = routes
            self.pools = pools
            self.sink = sink
            self.rateLimits = rateLimits
            self.now = now
            self.continues = continues
        }
    }

    private enum State {
        case idle
        /// A fast-path request whose body is still arriving.
        case collecting(HTTPRequestHead, CallInfo, ByteBuffer)
        /// Sent upstream; waiting for or streaming the response.
        case proxying(Exchange)
    }

    /// One proxied call in flight: its state machine, and the upstream connection it uses.
    final class Exchange {
        var call: ProxyCall
        var connection: UpstreamPool.Connection?

        init(_ call: ProxyCall) {
            self.call = call
        }
    }

    private let shared: Shared
    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var passage = FrontPassage()

    init(_ shared: Shared) {
        self.shared = shared
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    /// The event loop's clock: every time a call's state machine is given comes from it.
    private var now: NIODeadline { context?.eventLoop.now ?? .now() }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if passage.passOn(part, data, context: context) { return }
        switch (state, part) {
        case (.idle, .head(let head)):
            if let call = fastPathCall(head, at: context.eventLoop.now) {
                // Routed here, and within the size limit: the body may come.
                let request = FrontPassage.continueIfExpected(head, context: context)
                // Memory grows with what arrives, not with what a client declares it will send.
                let declared = request.headers.first(name: "content-length").flatMap(Int.init) ?? 0
                state = .collecting(request, call, context.channel.allocator.buffer(capacity: min(declared, 4_096)))
            } else {
                passage.giveToRouter(FrontPassage.continueIfExpected(head, context: context, allowed: shared.continues.allows(head)), context: context)
            }
        case (.collecting(let request, let call, var body), .body(var chunk)):
            body.writeBuffer(&chunk)
            state = .collecting(request, call, body)
        case (.collecting(let request, var call, let body), .end):
            call.fields = RequestFields(prefix: body.readableBytesView)
            let exchange = Exchange(ProxyCall(call: call, version: request.version, keepAlive: request.isKeepAlive,
                                              configuration: shared.configuration))
            shared.sink.begin(&exchange.call)
            state = .proxying(exchange)
            send(request, body: body, exchange: exchange, context: context)
        default:
            // A request part while a response is still going: the request order upstream in
            // the pipeline prevents it; refuse to mix them up.
            context.close(promise: nil)
        }
    }

    /// The call to proxy on the fast path, or nil to leave the request to the router.
    private func fastPathCall(_ request: HTTPRequestHead, at now: NIODeadline) -> CallInfo? {
        let full = request.uri
        guard request.version == .http1_1 || request.version == .http1_0,
              let (route, prefixLength) = AgentConfiguration.route(full, in: shared.routes), shared.pools[route] != nil
        else { return nil }
        let routed = prefixLength == 0 ? full : String(full.dropFirst(prefixLength))
        let path = routed.split(separator: "?", maxSplits: 1).first.map(String.init) ?? routed
        // An unsafe path goes to the router, which refuses it with the reason.
        guard ProxyHeaders.unsafePathReason(path) == nil else { return nil }
        let length = request.headers.first(name: "content-length").flatMap { Int64($0) }
        // A body without a declared length (chunked) or a large one streams through the router.
        if request.method != .GET && request.method != .HEAD && request.method != .DELETE && request.method != .OPTIONS {
            guard let length, length <= Int64(ProxyHeaders.inspectBytes),
                  length <= shared.configuration.maxRequestBody
            else { return nil }
        } else if let length, length > 0 {
            return nil
        } else if request.headers.contains(name: "transfer-encoding") {
            return nil
        }
        return CallInfo(startedAt: shared.now(), started: now, appHeader: request.headers.first(name: ProxyHeaders.app.rawName),
                        retryHeader: request.headers.first(name: ProxyHeaders.retryCount.rawName), endpoint: endpoint(path),
                        route: route, routes: shared.routes, configuration: shared.configuration)
    }

    /// The last path seen on this connection and its route: an app calls the same few routes
    /// over and over.
    private var lastRoute: (path: String, endpoint: String)?

    /// How many characters of the request's path are its upstream's prefix (before `/v1/`).
    private func prefixLength(of exchange: Exchange) -> Int {
        shared.routes[exchange.call.info.route].prefix.utf8.count
    }

    private func endpoint(_ path: String) -> String {
        if let lastRoute, lastRoute.path == path { return lastRoute.endpoint }
        let endpoint = Endpoint.normalize(path)
        lastRoute = (path, endpoint)
        return endpoint
    }

    private func send(_ request: HTTPRequestHead, body: ByteBuffer, exchange: Exchange, context: ChannelHandlerContext) {
        let pools = shared.pools[exchange.call.info.route]!
        let target = pools.target
        // One copy of the headers, the filtering included.
        var headers = NIOHTTP1.HTTPHeaders()
        headers.reserveCapacity(request.headers.count + 2)
        headers.add(name: "host", value: target.authority)
        var hadLength = false
        let named = ProxyHeaders.connectionOptions(request.headers["connection"])
        for (name, value) in request.headers {
            let lowercased = name.lowercased()
            if lowercased == "content-length" { hadLength = true }
            if ProxyHeaders.dropsFromRequest(lowercased) || named.contains(lowercased) { continue }
            headers.add(name: name, value: value)
        }
        if body.readableBytes > 0 || hadLength {
            headers.add(name: "content-length", value: String(body.readableBytes))
        }
        let upstream = HTTPRequestHead(version: .http1_1, method: request.method,
                                       uri: target.basePath + request.uri.dropFirst(prefixLength(of: exchange) + 3), headers: headers)
        let pool = pool(exchange.call.info.route, on: context.eventLoop)
        if let connection = pool.idleConnection() {
            forward(upstream, body: body, exchange: exchange, over: connection)
            return
        }
        let poolBound = NIOLoopBound(pool, eventLoop: context.eventLoop)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let exchangeBound = NIOLoopBound(exchange, eventLoop: context.eventLoop)
        pool.connect(timeout: .seconds(10)).whenComplete { result in
            let handler = loopBound.value
            let exchange = exchangeBound.value
            guard case .proxying(let current) = handler.state, current === exchange else {
                // The client left while connecting: give the connection back unused.
                if case .success(let connection) = result { poolBound.value.release(connection) }
                return
            }
            switch result {
            case .failure(let error):
                handler.end(exchange, exchange.call.upstreamFailed(error, at: handler.now))
            case .success(let connection):
                handler.forward(upstream, body: body, exchange: exchange, over: connection)
            }
        }
    }

    /// Sends the request over `connection`, which the exchange now uses.
    private func forward(_ upstream: HTTPRequestHead, body: ByteBuffer, exchange: Exchange, over connection: UpstreamPool.Connection) {
        exchange.connection = connection
        connection.handler.delegate = self
        connection.handler.keepAlive = true
        connection.channel.write(HTTPClientRequestPart.head(upstream), promise: nil)
        if body.readableBytes > 0 { connection.channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
        connection.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        exchange.call.sent(at: now)
        armDeadline(exchange)
    }

    /// This event loop's pool for each route, looked up once per connection rather than under
    /// the pools' lock on every call.
    private var loopPools: [UpstreamPool?] = []

    private func pool(_ route: Int, on eventLoop: any EventLoop) -> UpstreamPool {
        if loopPools.isEmpty { loopPools = Array(repeating: nil, count: shared.pools.count) }
        if let pool = loopPools[route] { return pool }
        let pool = shared.pools[route]!.pool(for: eventLoop)
        loopPools[route] = pool
        return pool
    }

    /// The connection's one deadline check, re-armed as calls come and go: a timer per call
    /// would cost a scheduled task and two heap operations on every request.
    private var check: (task: Scheduled<Void>, at: NIODeadline)?

    private func armDeadline(_ exchange: Exchange) {
        if let deadline = exchange.call.deadline { arm(at: deadline) }
    }

    /// Makes sure a check runs by `deadline`.
    private func arm(at deadline: NIODeadline) {
        guard let context else { return }
        if let check, check.at <= deadline { return }
        check?.task.cancel()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        check = (context.eventLoop.scheduleTask(deadline: deadline) { bound.value.deadlineCheck() }, deadline)
    }

    /// No headers in time (504), or a response silent for longer than `stream_timeout` (cut);
    /// otherwise the next check, at the call's next deadline.
    private func deadlineCheck() {
        check = nil
        guard case .proxying(let exchange) = state else { return }
        if let ending = exchange.call.deadlinePassed(at: now) {
            end(exchange, ending)
        } else {
            armDeadline(exchange)
        }
    }

    // MARK: Responses

    func upstreamRead(_ part: HTTPClientResponsePart) {
        guard case .proxying(let exchange) = state, let context else { return }
        let now = context.eventLoop.now
        switch part {
        case .head(let response):
            var head = exchange.call.responseHead(response, at: now)
            if let length = head.contentLength { head.headers.add(name: "content-length", value: String(length)) }
            shared.rateLimits.observe(head.recorded, model: exchange.call.info.fields.model, at: exchange.call.info.startedAt)
            // From here the limit is the longest silence in the response.
            armDeadline(exchange)
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: exchange.call.version, status: head.status, headers: head.headers))), promise: nil)
        case .body(let chunk):
            exchange.call.responseBody(chunk, at: now)
            context.write(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
        case .end:
            if let outcome = exchange.call.responseEnd(at: now) { shared.sink.record(outcome, of: exchange.call) }
            if let connection = exchange.connection {
                connection.handler.delegate = nil
                pool(exchange.call.info.route, on: context.eventLoop).release(connection)
            }
            finish(exchange, context: context)
        }
    }

    func upstreamReadComplete() {
        context?.flush()
    }

    func upstreamClosed(_ error: (any Error)?) {
        guard case .proxying(let exchange) = state else { return }
        exchange.connection = nil
        end(exchange, exchange.call.upstreamFailed(error, at: now))
    }

    /// Carries out an ending other than the response's own: errwatch's answer (502, 504) to
    /// the client, or a cut response (both connections close). The outcome is recorded first.
    private func end(_ exchange: Exchange, _ ending: ProxyCall.Ending?) {
        guard let context, let ending else { return }
        if let connection = exchange.connection {
            connection.handler.delegate = nil
            connection.channel.close(promise: nil)
            exchange.connection = nil
        }
        switch ending {
        case .cut(let outcome):
            shared.sink.record(outcome, of: exchange.call)
            state = .idle
            context.close(promise: nil)
        case .answer(let answer, let outcome):
            shared.sink.record(outcome, of: exchange.call)
            let body = ByteBuffer(string: answer.body)
            var headers: NIOHTTP1.HTTPHeaders = ["content-type": "application/json", "content-length": String(body.readableBytes)]
            if !exchange.call.keepAlive { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: exchange.call.version, status: HTTPResponseStatus(statusCode: answer.status.code),
                                                                 headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            finish(exchange, context: context)
        }
    }

    /// The call is over: its end goes out, the connection takes the next request (or closes,
    /// when the app asked for that), and a held stop goes on.
    private func finish(_ exchange: Exchange, context: ChannelHandlerContext) {
        // Idle before the end is written: the request order hands on the next pipelined
        // request as the end passes it, and that request re-enters this handler at once.
        state = .idle
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if !exchange.call.keepAlive { context.close(promise: nil) }
        passage.callEnded(context: context)
    }

    // MARK: The client connection

    func channelInactive(context: ChannelHandlerContext) {
        if case .proxying(let exchange) = state {
            // The app hung up: record it, and cancel the upstream request.
            if let outcome = exchange.call.clientClosed(at: context.eventLoop.now) { shared.sink.record(outcome, of: exchange.call) }
            if let connection = exchange.connection {
                connection.handler.delegate = nil
                connection.channel.close(promise: nil)
            }
            state = .idle
        }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // A slow app slows the upstream, instead of the response piling up in memory.
        if case .proxying(let exchange) = state, let channel = exchange.connection?.channel {
            let writable = context.channel.isWritable
            channel.setOption(.autoRead, value: writable).whenSuccess { if writable { channel.read() } }
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A graceful stop waits for the call in flight on this connection to end.
        let busy = switch state {
        case .collecting, .proxying: true
        case .idle: false
        }
        if passage.hold(event, busy: busy) { return }
        context.fireUserInboundEventTriggered(event)
    }
}
