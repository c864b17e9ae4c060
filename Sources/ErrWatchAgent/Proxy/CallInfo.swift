import AsyncHTTPClient
import ErrWatchCore
import ErrWatchStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// What the proxy knows about a call before the response.
struct CallInfo: Sendable {
    var startedAt: Int64
    var started: ContinuousClock.Instant
    var app: String
    var endpoint: String
    var attempt: Int
    var fields = RequestFields(prefix: [UInt8]())

    init(startedAt: Int64, started: ContinuousClock.Instant, app: String, endpoint: String, attempt: Int) {
        self.startedAt = startedAt
        self.started = started
        self.app = app
        self.endpoint = endpoint
        self.attempt = attempt
    }

    /// A call beginning now, as both proxy paths read it from the request: the app from
    /// `x-errwatch-app` (else the configured one), the attempt from `x-stainless-retry-count`
    /// (clamped), the route from the path.
    init(startedAt: Int64, appHeader: String?, retryHeader: String?, endpoint: String, configuration: AgentConfiguration) {
        self.init(startedAt: startedAt, started: .now, app: appHeader ?? configuration.app, endpoint: endpoint,
                  attempt: retryHeader.flatMap { Int($0) }.map { max(0, min($0, 10_000)) } ?? 0)
    }

    /// The outcome of this call, ending now.
    func outcome(status: Int?, error: CallError?, requestID: String?, streamed: Bool, timeToHeaders: Duration?) -> CallOutcome {
        CallOutcome(
            timestamp: startedAt, app: app, endpoint: endpoint, model: fields.model, status: status,
            error: error, attempt: attempt, latencyMs: started.duration(to: .now).wholeMilliseconds,
            timeToHeadersMs: timeToHeaders?.wholeMilliseconds,
            requestID: requestID, streamed: streamed)
    }
}
