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

/// Keeps the first bytes of a streamed request body and enforces the body limit.
final class BodyPrefix: Sendable {
    private struct State { var bytes: [UInt8] = []; var total: Int64 = 0; var exceeded = false }
    private let state = Mutex(State())
    private let limit: Int
    private let maxTotal: Int64

    struct TooLarge: Error {}

    init(limit: Int, maxTotal: Int64) {
        self.limit = limit
        self.maxTotal = maxTotal
    }

    func add(_ chunk: ByteBuffer) throws {
        try state.withLock { state in
            state.total += Int64(chunk.readableBytes)
            if state.total > maxTotal {
                state.exceeded = true
                throw TooLarge()
            }
            if state.bytes.count < limit {
                state.bytes += chunk.readableBytesView.prefix(limit - state.bytes.count)
            }
        }
    }

    var exceeded: Bool { state.withLock { $0.exceeded } }
    var fields: RequestFields { RequestFields(prefix: state.withLock { $0.bytes }) }
}
