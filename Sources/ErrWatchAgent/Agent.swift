import AsyncHTTPClient
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import NIOSSL
import ServiceLifecycle

/// The errwatch agent: the recording proxy at `/v1/*`, errwatch's API at `/api/v1/*`,
/// `/healthz` and `/readyz`, and the batch writer behind them.
public struct Agent: Sendable {
    public let configuration: AgentConfiguration
    public let store: Store
    public let writer: BatchWriter
    public let rateLimits = RateLimitTracker()
    /// The aggregator: rules, alert state, notifications.
    public let alerts: AlertService
    /// What `/metrics` shows.
    public let metrics = AgentMetrics()
    /// The proxied calls under way.
    let inflight = InflightCalls()
    /// Keep-alive connections for the proxy's fast path, per upstream of ``AgentConfiguration/routes``
    /// (nil for one whose URL it cannot use: the router's proxy serves that one).
    let upstreamPools: [UpstreamPools?]
    /// The open client connections and their cap.
    let clientConnections: ClientConnections
    /// The caps on recorded dimensions, shared by every way in.
    let limiter: DimensionLimiter
    /// Export to an OpenTelemetry collector, when `otlp_endpoint` is set.
    let telemetry: OTLPExport?
    let client: HTTPClient
    let logger: Logger
    let now: @Sendable () -> Int64

    /// An agent recording into `store` and forwarding with `client` (which the caller owns and
    /// shuts down). `now` is the wall clock in UTC milliseconds.
    public init(
        configuration: AgentConfiguration, store: Store, client: HTTPClient,
        writerConfiguration: BatchWriter.Configuration = .init(),
        logger: Logger = Logger(label: "errwatch.agent"),
        now: @escaping @Sendable () -> Int64 = Timestamp.now
    ) {
        self.configuration = configuration
        var store = store
        store.hostName = configuration.hostName
        self.store = store
        self.client = client
        self.logger = logger
        self.now = now
        writer = BatchWriter(store: store, configuration: writerConfiguration, logger: logger, now: now)
        // Values the database already holds count against the caps: a restart does not reopen them.
        limiter = DimensionLimiter(known: (try? store.knownValues(limit: 1_000)) ?? [:])
        clientConnections = ClientConnections(
            limit: configuration.maxConnections ?? ClientConnections.derivedLimit(descriptors: ClientConnections.descriptorLimit))
        // Idle upstream connections kept for reuse: one per allowed client connection at most
        // (the connection cap counts one idle upstream connection for each client).
        let clientLimit = clientConnections.limit
        // The context is made from certificates the configuration already read and checked;
        // should it fail all the same, the router's proxy (AsyncHTTPClient) serves https alone.
        let routes = configuration.routes
        let tls = routes.contains { $0.url.hasPrefix("https:") } ? try? NIOSSLContext(configuration: configuration.upstreamTLS) : nil
        upstreamPools = routes.map { route in
            UpstreamTarget(route.url).flatMap { target in
                target.tls && tls == nil ? nil : UpstreamPools(target: target, tls: target.tls ? tls : nil, maxIdle: max(1, clientLimit / routes.count))
            }
        }
        do {
            telemetry = try OTLPExport(settings: configuration.otlp, routes: configuration.routes, metrics: metrics, logger: logger)
        } catch {
            // The settings were checked when read; should swift-otel refuse them all the same,
            // the agent runs without export rather than not at all.
            logger.error("OpenTelemetry export is off: its settings were refused", metadata: ["error": "\(error)"])
            telemetry = nil
        }
        let dispatcher = NotifierDispatcher(
            notifiers: configuration.alerts.notifiers, client: client, store: store,
            evaluationIntervalMs: configuration.alerts.evaluationIntervalMs, metrics: metrics, logger: logger, now: now)
        alerts = AlertService(configuration: configuration.alerts, store: store, dispatcher: dispatcher,
                              dashboardURL: configuration.dashboardURL, logger: logger, now: now, inflight: { [inflight] in inflight.snapshot },
                              observe: { [telemetry] event in telemetry?.alertChanged(event) })
    }

    /// Where outcomes go, from every way in.
    var sink: OutcomeSink {
        OutcomeSink(writer: writer, metrics: metrics, limiter: limiter, inflight: inflight, hostName: configuration.hostName, telemetry: telemetry)
    }

    /// The HTTP client settings the proxy needs: no redirects followed, no decompression, a
    /// read timeout as long as the longest silence a stream may have, and no retried connects.
    public static func clientConfiguration(for configuration: AgentConfiguration) -> HTTPClient.Configuration {
        var client = HTTPClient.Configuration(redirectConfiguration: .disallow, decompression: .disabled)
        client.timeout = HTTPClient.Configuration.Timeout(
            connect: .seconds(10), read: .milliseconds(configuration.streamTimeoutMs))
        client.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        // An upstream that refuses connections is reported at once (502), not after the
        // connect timeout: the app decides whether to retry, not the proxy.
        client.connectionPool.retryConnectionEstablishment = false
        client.tlsConfiguration = configuration.upstreamTLS
        return client
    }

    /// The origin (`scheme://host[:port]`, lower-cased) of `url`.
    static func origin(_ url: String) -> String? {
        guard let separator = url.range(of: "://") else { return nil }
        let rest = url[separator.upperBound...]
        return (url[..<separator.upperBound] + rest.prefix { $0 != "/" }).lowercased()
    }

    /// Every route of the agent.
    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: RequestOriginMiddleware(
            routes: configuration.routes, loopbackOnly: configuration.listensOnLoopback, allowedHosts: configuration.allowedHosts,
            externalOrigin: configuration.alerts.externalURL.flatMap(Self.origin)))
        ProxyController<BasicRequestContext>(
            client: client, configuration: configuration, sink: sink, rateLimits: rateLimits, now: now, logger: logger
        ).addRoutes(to: router)
        HealthController<BasicRequestContext>(store: store, writer: writer).addRoutes(to: router)
        // Prometheus scrapes /metrics; with auth_token set it sends the token too
        // (`authorization: {credentials: …}` in its scrape config).
        let exposition = router.group("/metrics")
        if let token = configuration.authToken { exposition.add(middleware: AuthMiddleware(token: token)) }
        exposition.get { [metrics, writer, alerts, rateLimits, clientConnections, limiter, inflight, now] _, _ -> Response in
            let clients = AgentMetrics.ClientCounts(
                open: clientConnections.count, timedOut: clientConnections.timedOut,
                evicted: clientConnections.evicted, refused: clientConnections.refused)
            let text = metrics.render(writer: writer.statistics, alerts: alerts.currentAlerts, rateLimits: rateLimits.all, clients: clients,
                                      folded: limiter.folded, inflight: inflight.snapshot, now: now())
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        // The dashboard: a static page that reads the API (which keeps its own auth).
        router.get("/") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/html; charset=utf-8"
            headers[.cacheControl] = "no-cache"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.dashboard_html)))
        }
        let api = router.group("/api/v1")
        if let token = configuration.authToken { api.add(middleware: AuthMiddleware(token: token)) }
        APIController<BasicRequestContext>(
            store: store, sink: sink, rateLimits: rateLimits, maxIngestBody: configuration.maxIngestBody, now: now
        ).addRoutes(to: api)
        api.get("inflight") { [inflight, now] _, _ -> Response in
            APIController<BasicRequestContext>.json(status: .ok, InflightCalls.report(inflight.snapshot, now: now()))
        }
        AlertsController<BasicRequestContext>(store: store, alerts: alerts, now: now).addRoutes(to: api)
        ExportController<BasicRequestContext>(store: store, now: now).addRoutes(to: api)
        return router
    }

    /// The HTTP application; `onServerRunning` learns the bound port (useful with port 0).
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let fastPath = upstreamPools.allSatisfy { $0 == nil } ? nil
            : FastProxyHandler.Shared(configuration: configuration, routes: configuration.routes, pools: upstreamPools, sink: sink,
                                      rateLimits: rateLimits, now: now,
                                      continues: ContinuePolicy(authToken: configuration.authToken, maxRequestBody: configuration.maxRequestBody,
                                                                maxIngestBody: configuration.maxIngestBody))
        let clients = ClientGuardSettings(
            limits: .init(header: .milliseconds(configuration.headerTimeoutMs), body: .milliseconds(configuration.bodyTimeoutMs),
                          idle: .milliseconds(configuration.idleTimeoutMs)),
            connections: clientConnections)
        return makeApplication(router: buildRouter(), host: configuration.host, port: configuration.port, name: "errwatch",
                               logger: logger, onServerRunning: onServerRunning, clients: clients,
                               frontHandlers: { fastPath.map { [FastProxyHandler($0)] } ?? [] })
    }

    /// The services to run together, in start order; they stop in reverse: the server first
    /// (no new requests, in-flight ones finish), then the aggregator (queued notifications are
    /// delivered), then the writer (everything accepted is written).
    public func services(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> [any Service] {
        let export: [any Service] = telemetry.map { telemetry in
            telemetry.services + [TelemetrySampler(telemetry: telemetry, writer: writer, alerts: alerts, intervalMs: configuration.otlp.intervalMs)]
        } ?? []
        return export + [WriterService(writer: writer), alerts,
         RetentionService(store: store, policy: configuration.retention, intervalMs: configuration.pruneIntervalMs, metrics: metrics,
                          logger: logger, now: now),
         application { [configuration, alerts] port in
            // Port 0 is known only now: links in notifications need the real one.
            if configuration.alerts.externalURL == nil {
                var bound = configuration
                bound.port = port
                alerts.dashboardURL = bound.dashboardURL
            }
            await onServerRunning(port)
        }]
    }
}

/// The batch writer as a service: on graceful shutdown it stops taking outcomes, writes what
/// it accepted, and returns.
struct WriterService: Service {
    let writer: BatchWriter

    func run() async throws {
        await withGracefulShutdownHandler {
            await writer.run()
        } onGracefulShutdown: {
            writer.beginShutdown()
        }
    }
}

/// How a server treats its clients: timeouts for slow ones and a cap on how many at once.
struct ClientGuardSettings: Sendable {
    var limits = ClientConnectionState.Limits(header: .seconds(10), body: .seconds(30), idle: .seconds(60))
    var connections = ClientConnections(limit: ClientConnections.derivedLimit(descriptors: ClientConnections.descriptorLimit))
}

/// An HTTP/1 application serving `router` on `host:port`; `onServerRunning` learns the port
/// actually bound (the one the system chose for port 0). `frontHandlers` sit in each
/// connection's pipeline right after HTTP/1 parsing, before Hummingbird's HTTP types: they see
/// NIOHTTP1 parts and may answer a request themselves or pass it on to the router.
func makeApplication(
    router: Router<BasicRequestContext>, host: String, port: Int, name: String, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void,
    clients: ClientGuardSettings = ClientGuardSettings(),
    tls: NIOSSLContext? = nil,
    frontHandlers: @escaping @Sendable () -> [any ChannelHandler] = { [] }
) -> some ApplicationProtocol {
    Application(
        router: router,
        server: HTTPServerBuilder { responder in
            FrontedHTTP1Channel(inner: HTTP1Channel(responder: responder), clients: clients, tls: tls, front: frontHandlers)
        },
        configuration: .init(address: .hostname(host, port: port), serverName: name),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger)
}

/// The same for the other servers errwatch runs (the fake upstream), with the client guard's
/// default limits: one way to serve HTTP in the package. With `tls`, it serves HTTPS.
package func makeServerApplication(
    router: Router<BasicRequestContext>, host: String, port: Int, name: String, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void,
    tls: NIOSSLContext? = nil,
    frontHandlers: @escaping @Sendable () -> [any ChannelHandler] = { [] }
) -> some ApplicationProtocol {
    makeApplication(router: router, host: host, port: port, name: name, logger: logger, onServerRunning: onServerRunning, tls: tls,
                    frontHandlers: frontHandlers)
}

/// Hummingbird's HTTP/1 child channel with handlers of errwatch's own in front of its
/// conversion to HTTP types: a request those handlers serve costs no conversion either way.
///
/// In front of them: ``RequestOrderHandler``, so a connection's requests are handed on one at a
/// time and answered in order whichever handler answers each (a pipelined fast-path call after a
/// router call would otherwise overtake it), and the client guard (timeouts, the cap).
///
/// Hummingbird's half of the pipeline (the conversion, its connection state and the async
/// channel its per-connection task reads) is set up by ``RouterHandoff`` when the connection's
/// first request for the router arrives: a connection that only ever proxies on the fast path
/// (most of them, and every long stream) never pays for it. Measured: 13.4 KiB of memory per
/// idle connection with it from the start, about 9 KiB without.
struct FrontedHTTP1Channel: ServerChildChannel {
    /// The connection, and the router's async channel once a request for the router came
    /// (nil when the connection closed without one).
    struct Value: ServerChildChannelValue {
        let channel: any Channel
        let router: EventLoopFuture<HTTP1Channel.Value?>
    }

    let inner: HTTP1Channel
    let clients: ClientGuardSettings
    /// TLS, ahead of everything else, when the server speaks HTTPS.
    var tls: NIOSSLContext?
    let front: @Sendable () -> [any ChannelHandler]

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let entry = clients.connections.admit(channel)
        return channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            // What Hummingbird's HTTP1Channel sets up first, with its limits.
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = inner.configuration.httpDecoder.maxHeaderFieldSize
            limits.maxHeaderListSize = inner.configuration.httpDecoder.maxHeaderListSize
            limits.maxHeaderFieldCount = inner.configuration.httpDecoder.maxHeaderFieldCount
            try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
                                                     withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
            let guardHandler = ClientGuardHandler(limits: clients.limits, connections: clients.connections, entry: entry)
            try pipeline.addHandler(ClientGuardHandler.ByteWatcher(guardHandler), position: .first)
            // Ahead of the byte watcher, which then times the HTTP bytes, not the records.
            if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls), position: .first) }
            try pipeline.addHandler(RequestOrderHandler())
            try pipeline.addHandler(guardHandler)
            for handler in front() { try pipeline.addHandler(handler) }
            let handoff = RouterHandoff(configuration: inner.configuration, logger: logger, eventLoop: channel.eventLoop)
            try pipeline.addHandler(handoff)
            return Value(channel: channel, router: handoff.router)
        }
    }

    func handle(value: Value, logger: Logger) async {
        guard let router = try? await value.router.get() else { return }
        await inner.handle(value: router, logger: logger)
    }
}

/// The end of a fronted connection's pipeline until a request reaches it (one the front
/// handlers passed on to the router): then it adds what Hummingbird's `HTTP1Channel` would
/// have added at the start (the conversion to HTTP types, the connection state handler, the
/// async channel) behind itself and hands the async channel to the connection's task, which
/// serves it as Hummingbird does; an error (a request the HTTP parser refused) is handed over
/// the same way, for Hummingbird's answer. Before that, it does what the async channel would
/// have done for the connection's end: closes it when the client closes its side, and tells
/// the task there will be no request for the router when the connection goes.
final class RouterHandoff: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart

    private let configuration: HTTP1Channel.Configuration
    private let logger: Logger
    private let promise: EventLoopPromise<HTTP1Channel.Value?>

    private enum State {
        /// No request for the router yet.
        case waiting
        /// Hummingbird's handlers are behind this one, which passes everything on.
        case installed
        /// The connection went without one.
        case gone
    }

    private var state = State.waiting

    /// The router's async channel, or nil when the connection closed without a request for it.
    var router: EventLoopFuture<HTTP1Channel.Value?> { promise.futureResult }

    init(configuration: HTTP1Channel.Configuration, logger: Logger, eventLoop: any EventLoop) {
        self.configuration = configuration
        self.logger = logger
        promise = eventLoop.makePromise()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard handOver(context) else { return }
        context.fireChannelRead(data)
    }

    /// Installs Hummingbird's handlers, unless done already; false when that failed (the
    /// connection then closes).
    private func handOver(_ context: ChannelHandlerContext) -> Bool {
        switch state {
        case .installed: return true
        case .gone: return false
        case .waiting:
            do {
                promise.succeed(try install(context: context))
                state = .installed
                return true
            } catch {
                give(up: context)
                return false
            }
        }
    }

    /// Adds Hummingbird's handlers behind this one, as `HTTP1Channel.setup` orders them.
    private func install(context: ChannelHandlerContext) throws -> HTTP1Channel.Value {
        let pipeline = context.pipeline.syncOperations
        var last: any ChannelHandler = HTTP1ToHTTPServerCodec(secure: false)
        try pipeline.addHandler(last, position: .after(self))
        for handler in configuration.additionalChannelHandlers() + [HTTPConnectionStateHandler(
            idleTimeout: configuration.idleTimeout.map { .init($0) }, logger: logger)] {
            try pipeline.addHandler(handler, position: .after(last))
            last = handler
        }
        return try NIOAsyncChannel(wrappingChannelSynchronously: context.channel, configuration: .init(isOutboundHalfClosureEnabled: true))
    }

    /// The connection's end before any request for the router: the task learns there is none.
    private func give(up context: ChannelHandlerContext) {
        guard case .waiting = state else { return }
        state = .gone
        promise.succeed(nil)
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client closed its side with no call for the router: nothing more will come.
        if case ChannelEvent.inputClosed = event { give(up: context) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Hummingbird answers what it answers (a request the HTTP parser refused: a 400 with
        // `connection: close`) and closes the connection.
        guard handOver(context) else { return }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        give(up: context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        give(up: context)
    }
}
