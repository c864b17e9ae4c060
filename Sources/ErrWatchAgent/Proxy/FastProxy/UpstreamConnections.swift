import ErrWatchCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// Where the proxy's fast path connects: the upstream base URL, parsed once.
struct UpstreamTarget: Sendable {
    let host: String
    let port: Int
    /// Whether the upstream speaks TLS (`https`).
    let tls: Bool
    /// The base URL's path, without a trailing slash (`/v1`).
    let basePath: String

    /// The target of `url`, or nil when it is neither an http nor an https URL with a host.
    init?(_ url: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme, scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty
        else { return nil }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        tls = scheme == "https"
        port = components.port ?? (tls ? 443 : 80)
        basePath = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
        let named = self.host.contains(":") ? "[\(self.host)]" : self.host
        authority = port == (tls ? 443 : 80) ? named : "\(named):\(port)"
    }

    /// The `host:port` the upstream is addressed by (the port left out when it is the scheme's),
    /// worked out once: every request's `Host` header says it.
    let authority: String

    /// The name sent in TLS's SNI and checked against the certificate: nil for an IP address,
    /// which SNI cannot carry (the certificate is then checked against the address).
    var serverName: String? {
        (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }
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
    /// The pool holding the connection while it is idle, told when it closes so it forgets it.
    weak var idleIn: UpstreamPool?

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
            idleIn?.forget(context.channel)
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
    /// TLS for an https upstream: one context for every connection, so certificates and
    /// trust roots are loaded once.
    let tls: NIOSSLContext?
    private var idle: [Connection] = []
    /// Idle connections kept on this event loop.
    let maxIdle: Int

    /// How new connections are made: nil for TCP (and TLS) to the target; tests hand in a
    /// channel of their own (an `EmbeddedChannel` ending in an ``UpstreamHandler``).
    let connector: UpstreamPools.Connector?

    init(eventLoop: any EventLoop, target: UpstreamTarget, tls: NIOSSLContext?, maxIdle: Int, connector: UpstreamPools.Connector? = nil) {
        self.eventLoop = eventLoop
        self.target = target
        self.tls = tls
        self.maxIdle = maxIdle
        self.connector = connector
    }

    /// An idle connection fit for reuse, if there is one: the common case, taken without a
    /// future or a callback.
    func idleConnection() -> Connection? {
        eventLoop.preconditionInEventLoop()
        while let connection = idle.popLast() {
            if connection.channel.isActive, NIODeadline.now() - connection.idleSince < Self.maxIdleTime {
                connection.handler.idleIn = nil
                return connection
            }
            connection.channel.close(promise: nil)
        }
        return nil
    }

    /// A new connection.
    func connect(timeout connectTimeout: TimeAmount) -> EventLoopFuture<Connection> {
        eventLoop.preconditionInEventLoop()
        if let connector { return connector(eventLoop) }
        let target = self.target
        let tls = self.tls
        let handler = UpstreamHandler()
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // TLS first: the request written at once waits in it until the handshake
                    // is done; a failed handshake or an untrusted certificate reaches the
                    // exchange as an error before any response (a 502 saying which).
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: target.serverName))
                    }
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
        connection.handler.idleIn = self
        var idled = connection
        idled.idleSince = .now()
        idle.append(idled)
    }

    /// An idle connection closed (the upstream let it go): it is no longer offered.
    func forget(_ channel: any Channel) {
        idle.removeAll { $0.channel === channel }
    }
}

/// The pools of all event loops.
final class UpstreamPools: Sendable {
    /// Makes a new upstream connection on the event loop given.
    typealias Connector = @Sendable (any EventLoop) -> EventLoopFuture<UpstreamPool.Connection>

    private let pools = Mutex<[ObjectIdentifier: NIOLoopBound<UpstreamPool>]>([:])
    let target: UpstreamTarget
    let tls: NIOSSLContext?
    /// Idle connections kept per event loop.
    let maxIdlePerLoop: Int
    let connector: Connector?

    /// Pools to `target`, over TLS with `tls` when the target is https. Upstream connections in
    /// use are bounded by the client connections (each has at most one call in flight); idle
    /// ones by `maxIdle` in all, shared out over the event loops, so that the two together stay
    /// within what the descriptor limit allows.
    init(target: UpstreamTarget, tls: NIOSSLContext?, maxIdle: Int = 64 * System.coreCount, connector: Connector? = nil) {
        self.target = target
        self.tls = tls
        self.connector = connector
        maxIdlePerLoop = max(1, min(64, maxIdle / max(1, System.coreCount)))
    }

    /// The pool of `eventLoop`; call on that loop.
    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        let key = ObjectIdentifier(eventLoop)
        return pools.withLock { pools in
            if let pool = pools[key] { return pool.value }
            let pool = UpstreamPool(eventLoop: eventLoop, target: target, tls: tls, maxIdle: maxIdlePerLoop, connector: connector)
            pools[key] = NIOLoopBound(pool, eventLoop: eventLoop)
            return pool
        }
    }
}
