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

    /// The outcome of this call, ending now.
    func outcome(status: Int?, error: CallError?, requestID: String?, streamed: Bool, timeToHeaders: Duration?) -> CallOutcome {
        CallOutcome(
            timestamp: startedAt, app: app, endpoint: endpoint, model: fields.model, status: status,
            error: error, attempt: attempt, latencyMs: started.duration(to: .now).wholeMilliseconds,
            timeToHeadersMs: timeToHeaders?.wholeMilliseconds,
            requestID: requestID, streamed: streamed)
    }
}
