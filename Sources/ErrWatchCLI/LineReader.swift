import Foundation

/// Reads a file or stream line by line in fixed-size chunks, so a file of any size is read
/// with bounded memory. Lines end in LF or CRLF; a line longer than `maxLineBytes` is
/// reported as such rather than held.
struct LineReader {
    enum Line {
        case text(Substring)
        case tooLong
    }

    private let handle: FileHandle
    private let maxLineBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private var skippingLongLine = false

    init(handle: FileHandle, maxLineBytes: Int = 1 << 20) {
        self.handle = handle
        self.maxLineBytes = maxLineBytes
    }

    /// The next line, or nil at the end of the input.
    mutating func next() throws -> Line? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = newline + 1
                if skippingLongLine {
                    skippingLongLine = false
                    continue
                }
                return .text(line[...])
            }
            if buffer.count - start > maxLineBytes {
                buffer.removeAll(keepingCapacity: true)
                start = 0
                if !skippingLongLine {
                    skippingLongLine = true
                    return .tooLong
                }
            }
            if atEnd {
                guard start < buffer.count, !skippingLongLine else { return nil }
                let line = String(decoding: buffer[start...], as: UTF8.self)
                start = buffer.count
                return .text(line[...])
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
