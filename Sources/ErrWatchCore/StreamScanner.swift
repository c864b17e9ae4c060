import Foundation

/// Watches a server-sent event stream as it passes, chunk by chunk, for what errwatch records
/// about it: an error sent inside the stream (`data: {"error":…}`, or Anthropic's
/// `event: error`), whether the stream reached its end (`data: [DONE]`, or Anthropic's
/// `message_stop`), when the first content came (``sawContent``) and how many events it had.
///
/// It runs on every chunk of every stream the proxy passes, so a healthy chunk costs a search
/// for line ends, a look at each line's first bytes and a search for `"error"` in its
/// payload, on the bytes where they lie: no copy (but of a line that continues in the next
/// chunk), no text built, no allocation. Only a payload that mentions `"error"` is read as
/// text. Until the first content, each payload is also searched for a non-empty content
/// field; after it, an event costs a count. It keeps at most one line of ``maxLineBytes``;
/// longer lines are skipped whole.
public struct StreamScanner: Sendable {
    /// Longest line inspected; events carrying errors are short.
    public static let maxLineBytes = 64 * 1024

    /// The first error the stream carried, classified as if it were a response body.
    public private(set) var error: CallError?
    /// Whether the stream's end marker was seen.
    public private(set) var sawEnd = false
    /// Whether any event was seen at all.
    public private(set) var sawEvent = false
    /// Whether an event carried content yet: a non-empty text (`content`, `text`, a string
    /// `delta`, `refusal`, reasoning) or tool-call arguments. Not the role-only first chunk
    /// OpenAI sends at once, nor Anthropic's `message_start`: the time to this is the time
    /// to first token.
    public private(set) var sawContent = false
    /// The `data:` events seen, the end marker not counted.
    public private(set) var chunks = 0

    /// The start of a line the next chunk continues.
    private var partial: [UInt8] = []
    private var overlong = false
    private var lastEvent = EventName.other
    private let now: Int64

    /// The event names that change how the next `data:` line is read.
    private enum EventName {
        case error, messageStop, other
    }

    /// A scanner; `now` dates retry hints found in errors.
    public init(now: Int64) { self.now = now }

    /// Feeds the next chunk of the stream.
    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ feed(UnsafeRawBufferPointer($0)) }) != nil { return }
        let copy = Array(bytes)
        copy.withUnsafeBytes { feed($0) }
    }

    /// Feeds the next chunk of the stream, read where it lies.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        var start = 0
        while start < bytes.count {
            guard let found = memchr(base + start, 0x0A, bytes.count - start) else {
                keep(UnsafeRawBufferPointer(rebasing: bytes[start...]))
                return
            }
            let end = UnsafeRawPointer(found) - base
            let line = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            if partial.isEmpty, !overlong {
                handle(line)
            } else {
                keep(line)
                if !overlong { partial.withUnsafeBytes { handle($0) } }
                partial.removeAll(keepingCapacity: true)
                overlong = false
            }
            start = end + 1
        }
    }

    /// Holds the start of a line until its end comes, up to ``maxLineBytes``.
    private mutating func keep(_ bytes: UnsafeRawBufferPointer) {
        guard !overlong else { return }
        if partial.count + bytes.count > Self.maxLineBytes {
            overlong = true
            partial.removeAll(keepingCapacity: true)
        } else {
            partial.append(contentsOf: bytes)
        }
    }

    private mutating func handle(_ raw: UnsafeRawBufferPointer) {
        var line = raw[...]
        if line.last == 0x0D { line = line.dropLast() }
        if Self.starts(line, with: Self.eventField) {
            let name = Self.trimmed(line.dropFirst(Self.eventField.count))
            lastEvent = name.elementsEqual("error".utf8) ? .error : name.elementsEqual("message_stop".utf8) ? .messageStop : .other
            return
        }
        guard Self.starts(line, with: Self.dataField) else { return }
        sawEvent = true
        let payload = Self.trimmed(line.dropFirst(Self.dataField.count))
        if payload.elementsEqual("[DONE]".utf8) || lastEvent == .messageStop {
            sawEnd = true
            return
        }
        chunks += 1
        guard payload.first == UInt8(ascii: "{") else { return }
        let bytes = UnsafeRawBufferPointer(rebasing: payload)
        if error == nil, lastEvent == .error || Self.contains(Self.errorKey, in: bytes) {
            // Rare: only now is the payload read as text.
            let text = String(decoding: payload, as: UTF8.self)
            // An error event has the shape of an error body, without a status: its type decides.
            if lastEvent == .error || Self.isErrorObject(text[...]) {
                error = Classifier.classifyEvent(payload: Array(payload), now: now)
                return
            }
        }
        if !sawContent, lastEvent != .error, Self.contentKeys.contains(where: { Self.hasText($0, in: bytes) }) {
            sawContent = true
        }
    }

    /// The fields whose non-empty string value is content, across the dialects: OpenAI's
    /// `delta.content`, tool calls' `arguments`, `refusal` and `reasoning_content`; Anthropic's
    /// `text_delta`, `input_json_delta` (`partial_json`) and `thinking`; Gemini's and legacy
    /// completions' `text`; the Responses API's string `delta`.
    private static let contentKeys = ["content", "text", "arguments", "refusal", "reasoning_content", "reasoning",
                                      "partial_json", "thinking", "delta"].map { Array("\"\($0)\"".utf8) }

    /// Whether `key` occurs in `payload` followed by a non-empty string: `"key": "x…`.
    private static func hasText(_ key: [UInt8], in payload: UnsafeRawBufferPointer) -> Bool {
        guard let base = payload.baseAddress, let first = key.first, payload.count > key.count else { return false }
        var offset = 0
        while offset <= payload.count - key.count,
              let found = memchr(base + offset, Int32(first), payload.count - key.count + 1 - offset) {
            let at = UnsafeRawPointer(found) - base
            offset = at + 1
            guard memcmp(base + at, key, key.count) == 0 else { continue }
            var index = at + key.count
            func skipSpace() { while index < payload.count, payload[index] == 0x20 || payload[index] == 0x09 { index += 1 } }
            skipSpace()
            guard index < payload.count, payload[index] == UInt8(ascii: ":") else { continue }
            index += 1
            skipSpace()
            guard index + 1 < payload.count, payload[index] == UInt8(ascii: "\"") else { continue }
            if payload[index + 1] != UInt8(ascii: "\"") { return true }
        }
        return false
    }

    private static let eventField = Array("event:".utf8)
    private static let dataField = Array("data:".utf8)
    private static let errorKey = Array("\"error\"".utf8)

    /// Whether `needle` occurs in `haystack`: memchr to each candidate first byte, then a compare.
    private static func contains(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Bool {
        guard let base = haystack.baseAddress, let first = needle.first, haystack.count >= needle.count else { return false }
        var offset = 0
        while offset <= haystack.count - needle.count,
              let found = memchr(base + offset, Int32(first), haystack.count - needle.count + 1 - offset) {
            let at = UnsafeRawPointer(found) - base
            if memcmp(base + at, needle, needle.count) == 0 { return true }
            offset = at + 1
        }
        return false
    }

    private static func starts(_ line: Slice<UnsafeRawBufferPointer>, with prefix: [UInt8]) -> Bool {
        line.count >= prefix.count && zip(line, prefix).allSatisfy { $0 == $1 }
    }

    private static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        var bytes = bytes
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes = bytes.dropLast() }
        return bytes
    }

    /// Whether `payload` is an error object rather than a chunk that mentions "error" in its text.
    public static func isErrorObject(_ payload: Substring) -> Bool {
        // {"error": {...}} or {"type":"error", ...}; a content delta would have the word inside a string.
        var errorValues = JSONFieldScanner.values(of: "error", in: payload).makeIterator()
        return errorValues.next()?.first == "{" || JSONFieldScanner.string("type", in: payload) { $0 == "error" } != nil
    }
}
