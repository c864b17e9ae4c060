import Foundation

/// Watches a server-sent event stream as it passes, chunk by chunk, for the two things errwatch
/// records about it: an error sent inside the stream (`data: {"error":…}`, or Anthropic's
/// `event: error`), and whether the stream reached its end (`data: [DONE]`, or Anthropic's
/// `message_stop`).
///
/// It keeps at most one line of ``maxLineBytes``; longer lines are skipped whole, never held.
public struct StreamScanner: Sendable {
    /// Longest line inspected; events carrying errors are short.
    public static let maxLineBytes = 64 * 1024

    /// The first error the stream carried, classified as if it were a response body.
    public private(set) var error: CallError?
    /// Whether the stream's end marker was seen.
    public private(set) var sawEnd = false
    /// Whether any event was seen at all.
    public private(set) var sawEvent = false

    private var line: [UInt8] = []
    private var overlong = false
    private var lastEventName = ""
    private let now: Int64

    /// A scanner; `now` dates retry hints found in errors.
    public init(now: Int64) { self.now = now }

    /// Feeds the next chunk of the stream.
    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if !overlong { handle(line) }
                line.removeAll(keepingCapacity: true)
                overlong = false
            } else if !overlong {
                if line.count < Self.maxLineBytes { line.append(byte) } else { overlong = true }
            }
        }
    }

    private mutating func handle(_ raw: [UInt8]) {
        var bytes = raw[...]
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        if bytes.starts(with: Array("event:".utf8)) {
            lastEventName = String(decoding: bytes.dropFirst(6), as: UTF8.self).trimmingSpaces().description
            return
        }
        guard bytes.starts(with: Array("data:".utf8)) else { return }
        sawEvent = true
        let payload = String(decoding: bytes.dropFirst(5), as: UTF8.self).trimmingSpaces()
        if payload == "[DONE]" || lastEventName == "message_stop" {
            sawEnd = true
            return
        }
        guard error == nil, payload.hasPrefix("{"), lastEventName == "error" || payload.contains("\"error\"") else { return }
        // An error event has the shape of an error body, without a status: its type decides.
        if lastEventName == "error" || Self.isErrorObject(payload) {
            error = Classifier.classifyEvent(payload: Array(payload.utf8), now: now)
        }
    }

    /// Whether `payload` is an error object rather than a chunk that mentions "error" in its text.
    public static func isErrorObject(_ payload: Substring) -> Bool {
        // {"error": {...}} or {"type":"error", ...}; a content delta would have the word inside a string.
        var errorValues = JSONFieldScanner.values(of: "error", in: payload).makeIterator()
        return errorValues.next()?.first == "{" || JSONFieldScanner.string("type", in: payload) { $0 == "error" } != nil
    }
}
