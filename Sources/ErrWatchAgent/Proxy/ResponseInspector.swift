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

/// Watches a response body pass: keeps the start of an error body, scans an event stream.
struct ResponseInspector {
    let status: Int
    let isStream: Bool
    let now: Int64
    private var prefix: [UInt8] = []
    private var scanner: StreamScanner

    init(status: Int, isStream: Bool, now: Int64) {
        self.status = status
        self.isStream = isStream
        self.now = now
        scanner = StreamScanner(now: now)
    }

    mutating func feed(_ chunk: ByteBuffer) {
        if status >= 400, prefix.count < Classifier.maxBodyBytes {
            prefix += chunk.readableBytesView.prefix(Classifier.maxBodyBytes - prefix.count)
        } else if isStream {
            chunk.withUnsafeReadableBytes { scanner.feed($0) }
        }
    }

    /// Whether the stream has carried content yet (``StreamScanner/sawContent``).
    var sawContent: Bool { scanner.sawContent }
    /// The stream's events so far, or nil when the response is not a stream.
    var chunks: Int? { isStream ? scanner.chunks : nil }

    /// The error the response carried: by its status and body, or inside its stream.
    func error(headers: ErrWatchCore.HTTPHeaders) -> CallError? {
        if status >= 400 { return Classifier.classify(status: status, headers: headers, body: prefix, now: now) }
        return scanner.error
    }
}
