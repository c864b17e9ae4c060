import ErrWatchCore
import NIOCore

/// What the proxy knows about a call before the response.
struct CallInfo: Sendable {
    var startedAt: Int64
    /// When it began, on the monotonic clock the proxy's deadlines use.
    var started: NIODeadline
    var app: String
    var endpoint: String
    /// The upstream the call goes to (its index in ``AgentConfiguration/routes``), its name
    /// and its provider.
    var route: Int
    var upstream: String
    var provider: String
    /// The upstream's base URL, as messages name it.
    var upstreamURL: String
    var attempt: Int
    var fields = RequestFields(prefix: [UInt8]())

    init(startedAt: Int64, started: NIODeadline, app: String, endpoint: String, route: Int = 0, upstream: Upstream, attempt: Int) {
        self.startedAt = startedAt
        self.started = started
        self.app = app
        self.endpoint = endpoint
        self.route = route
        self.upstream = upstream.name
        provider = upstream.provider
        upstreamURL = upstream.url
        self.attempt = attempt
    }

    /// A call to `routes[route]` beginning now, as both proxy paths read it from the request:
    /// the app from `x-errwatch-app` (else the configured one), the attempt from
    /// `x-stainless-retry-count` (clamped), the endpoint from the path after the upstream's prefix.
    init(startedAt: Int64, started: NIODeadline = .now(), appHeader: String?, retryHeader: String?, endpoint: String,
         route: Int, routes: [Upstream], configuration: AgentConfiguration) {
        self.init(startedAt: startedAt, started: started, app: appHeader ?? configuration.app, endpoint: endpoint,
                  route: route, upstream: routes[route], attempt: retryHeader.flatMap { Int($0) }.map { max(0, min($0, 10_000)) } ?? 0)
    }

    /// The outcome of this call, ending at `end`.
    func outcome(status: Int?, error: CallError?, requestID: String?, streamed: Bool, timeToHeaders: TimeAmount?, at end: NIODeadline) -> CallOutcome {
        CallOutcome(
            timestamp: startedAt, app: app, endpoint: endpoint, model: fields.model, upstream: upstream, provider: provider, status: status,
            error: error, attempt: attempt, latencyMs: Int64((end - started).nanoseconds / 1_000_000),
            timeToHeadersMs: timeToHeaders.map { Int64($0.nanoseconds / 1_000_000) },
            requestID: requestID, streamed: streamed)
    }
}
