import ErrWatchCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Where the proxy's fast path connects: a plain-HTTP upstream base URL, parsed once. (An https
/// upstream goes through the router's proxy, whose TLS client is AsyncHTTPClient's.)
struct UpstreamTarget: Sendable {
    var host: String
    var port: Int
    /// The base URL's path, without a trailing slash (`/v1`).
    var basePath: String

    /// The target of `url`, or nil when it is not a plain-HTTP URL.
    init?(_ url: String) {
        guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host else { return nil }
        self.host = host
        port = components.port ?? 80
        basePath = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
    }

    /// The `host:port` the upstream is addressed by.
    var authority: String { port == 80 ? host : "\(host):\(port)" }
}

/// What an upstream connection hands its current exchange: the response, and its end.
protocol UpstreamDelegate: AnyObject {
    func upstreamRead(_ part: HTTPClientResponsePart)
    func upstreamReadComplete()
    func upstreamClosed(_ error: (any Error)?)
}

/// The last handler of an upstream connection: passes the response to the exchange using the
/// connection, and keeps whether the upstream lets the connection be reused.
///
/// Unchecked Sendable: it is created for, and only ever touched on, its channel's event loop
/// (the pool and the exchange using it live on that loop too); futures carry it across no thread.
final class UpstreamHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    weak var delegate: (any UpstreamDelegate)?
    /// Whether the last response allows another request on this connection.
    var keepAlive = true
    /// Called when an idle connection closes, so the pool forgets it.
    var onIdleClose: (() -> Void)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .head(let head) = part { keepAlive = head.isKeepAlive }
        delegate?.upstreamRead(part)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let delegate {
            self.delegate = nil
            delegate.upstreamClosed(nil)
        } else {
            onIdleClose?()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let delegate = self.delegate
        self.delegate = nil
        delegate?.upstreamClosed(error)
        context.close(promise: nil)
    }
}

/// Idle keep-alive connections to the upstream, one pool per event loop, used only on it: the
/// client connection, its upstream connection and the proxying between them stay on one thread.
final class UpstreamPool {
    struct Connection: Sendable {
        var channel: any Channel
        var handler: UpstreamHandler
        /// When it went idle; connections idle longer than ``maxIdleTime`` are not reused, so as
        /// not to race an upstream that closes idle connections itself.
        var idleSince = NIODeadline.now()
    }

    /// How long an idle connection is kept for reuse.
    static let maxIdleTime = TimeAmount.seconds(20)

    let eventLoop: any EventLoop
    let target: UpstreamTarget
    private var idle: [Connection] = []
    /// Idle connections kept on this event loop.
    let maxIdle: Int

    init(eventLoop: any EventLoop, target: UpstreamTarget, maxIdle: Int) {
        self.eventLoop = eventLoop
        self.target = target
        self.maxIdle = maxIdle
    }

    /// An idle connection, or a new one.
    func acquire(connectTimeout: TimeAmount) -> EventLoopFuture<Connection> {
        eventLoop.preconditionInEventLoop()
        while let connection = idle.popLast() {
            if connection.channel.isActive, NIODeadline.now() - connection.idleSince < Self.maxIdleTime {
                connection.handler.onIdleClose = nil
                return eventLoop.makeSucceededFuture(connection)
            }
            connection.channel.close(promise: nil)
        }
        let target = self.target
        let handler = UpstreamHandler()
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The headers sent are the client's, already checked by the HTTP parser, and errwatch's own.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: target.host, port: target.port)
            .map { Connection(channel: $0, handler: handler) }
    }

    /// Takes a connection back after a complete exchange.
    func release(_ connection: Connection) {
        eventLoop.preconditionInEventLoop()
        guard connection.handler.keepAlive, connection.channel.isActive, idle.count < maxIdle else {
            connection.channel.close(promise: nil)
            return
        }
        let channel = connection.channel
        connection.handler.onIdleClose = { [weak self] in
            self?.idle.removeAll { $0.channel === channel }
        }
        var idled = connection
        idled.idleSince = .now()
        idle.append(idled)
    }
}

/// The pools of all event loops.
final class UpstreamPools: Sendable {
    private let pools = Mutex<[ObjectIdentifier: NIOLoopBound<UpstreamPool>]>([:])
    let target: UpstreamTarget
    /// Idle connections kept per event loop.
    let maxIdlePerLoop: Int

    /// Pools to `target`. Upstream connections in use are bounded by the client connections
    /// (each has at most one call in flight); idle ones by `maxIdle` in all, shared out over
    /// the event loops, so that the two together stay within what the descriptor limit allows.
    init(target: UpstreamTarget, maxIdle: Int = 64 * System.coreCount) {
        self.target = target
        maxIdlePerLoop = max(1, min(64, maxIdle / max(1, System.coreCount)))
    }

    /// The pool of `eventLoop`; call on that loop.
    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        let key = ObjectIdentifier(eventLoop)
        return pools.withLock { pools in
            if let pool = pools[key] { return pool.value }
            let pool = UpstreamPool(eventLoop: eventLoop, target: target, maxIdle: maxIdlePerLoop)
            pools[key] = NIOLoopBound(pool, eventLoop: eventLoop)
            return pool
        }
    }
}
