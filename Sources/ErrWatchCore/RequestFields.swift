import Foundation

/// What errwatch reads from a request body it forwards: the `model` asked for and whether a
/// stream was asked for. Only a prefix of the body is needed (the proxy never holds a large
/// body whole); a body that is cut short still yields the fields that precede the cut.
public struct RequestFields: Sendable, Hashable {
    /// The JSON `model` field, empty when absent.
    public var model: String
    /// The JSON `stream` field.
    public var stream: Bool

    /// The fields of `prefix`, the first bytes of a JSON request body.
    public init(prefix: some Collection<UInt8>) {
        model = ""
        stream = false
        // A request without a body (GET, DELETE) asks for neither.
        if prefix.isEmpty { return }
        // The proxy reads every request: a scan of the top-level keys, without building the
        // object, costs a fraction of a JSON parse. Only when it cannot tell does the parser decide.
        if let fields = Self.scanTopLevel(Array(prefix)) {
            model = RecordedText.dimension(fields.model)
            stream = fields.stream
            return
        }
        let data = Data(prefix)
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            model = (object["model"] as? String) ?? ""
            stream = (object["stream"] as? Bool) ?? false
        } else {
            let text = String(decoding: data, as: UTF8.self)[...]
            model = JSONFieldScanner.string("model", in: text) ?? ""
            stream = JSONFieldScanner.literal("stream", in: text) == "true"
        }
        model = RecordedText.dimension(model)
    }

    /// `model` and `stream` read from a JSON object's top level, byte by byte; nil when the text
    /// is not a plain object this scan reads with certainty (escapes inside the model name,
    /// a value that is neither a string nor a literal where it matters), so the parser decides.
    static func scanTopLevel(_ bytes: [UInt8]) -> (model: String, stream: Bool)? {
        var index = 0
        func skipSpace() { while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 } }
        /// Skips a string starting at `index` (on its quote); false when it does not end.
        func skipString() -> Bool {
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\\"): index += 2
                case UInt8(ascii: "\""): index += 1; return true
                default: index += 1
                }
            }
            return false
        }
        /// Skips any value; false when it does not end within the bytes.
        func skipValue() -> Bool {
            skipSpace()
            guard index < bytes.count else { return false }
            if bytes[index] == UInt8(ascii: "\"") { return skipString() }
            var depth = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    guard skipString() else { return false }
                    continue
                }
                if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { depth += 1 }
                if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                    if depth == 0 { return true }
                    depth -= 1
                }
                if byte == UInt8(ascii: ","), depth == 0 { return true }
                index += 1
            }
            return depth == 0
        }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var model = ""
        var stream = false
        while true {
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "}") { return (model, stream) }
            guard bytes[index] == UInt8(ascii: "\"") else { return nil }
            let keyStart = index + 1
            guard skipString() else { return nil }
            let key = bytes[keyStart..<(index - 1)]
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipSpace()
            let valueStart = index
            guard skipValue() else { return nil }
            let value = bytes[valueStart..<index]
            if key.elementsEqual("model".utf8) {
                // A plain string only: escapes and other values go to the parser.
                guard value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\""),
                      !value.contains(UInt8(ascii: "\\")), let text = String(validating: value.dropFirst().dropLast(), as: UTF8.self)
                else { return nil }
                model = text
            } else if key.elementsEqual("stream".utf8) {
                let literal = value.reversed().drop { [0x20, 0x09, 0x0A, 0x0D].contains($0) }.reversed()
                if literal.elementsEqual("true".utf8) { stream = true } else if literal.elementsEqual("false".utf8) { stream = false } else { return nil }
            } else if key.contains(UInt8(ascii: "\\")) {
                return nil
            }
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { return (model, stream) }
            return nil
        }
    }
}
