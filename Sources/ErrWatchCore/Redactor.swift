/// Masks credentials in any text errwatch stores or prints: `sk-…` API keys (OpenAI,
/// Anthropic, OfoxAI and others share the prefix) and `Bearer …` tokens.
///
/// A key keeps its last four characters (`sk-***abcd`) so two keys can be told apart, as
/// provider dashboards show them; a bearer token keeps nothing.
public enum Redactor {
    private static func keyAlphabet(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }
    private static func tokenAlphabet(_ byte: UInt8) -> Bool {
        keyAlphabet(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "~")
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
    }

    /// `text` with every key and bearer token masked; unchanged (and not copied) when it has none.
    public static func redact(_ text: String) -> String {
        // Most texts hold no secret: find that out without copying them.
        var scanned = text
        guard scanned.withUTF8({ mightContainSecret($0) }) else { return text }
        let bytes = Array(text.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if startsWord(bytes, index), matches(bytes, index, "sk-") {
                let end = run(bytes, from: index + 3, keyAlphabet)
                if end - index >= 3 + 8 {
                    output += Array("sk-***".utf8) + bytes[(end - 4)..<end]
                    index = end
                    continue
                }
            }
            if startsWord(bytes, index), matchesCaseInsensitive(bytes, index, "bearer ") {
                var tokenStart = index + 7
                while tokenStart < bytes.count, bytes[tokenStart] == UInt8(ascii: " ") { tokenStart += 1 }
                let end = run(bytes, from: tokenStart, tokenAlphabet)
                if end > tokenStart {
                    output += bytes[index..<(index + 7)] + Array("***".utf8)
                    index = end
                    continue
                }
            }
            output.append(bytes[index])
            index += 1
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func mightContainSecret(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for index in bytes.indices where bytes[index] == UInt8(ascii: "s") || bytes[index] | 0x20 == UInt8(ascii: "b") {
            if index + 3 <= bytes.count, bytes[index + 1] == UInt8(ascii: "k"), bytes[index + 2] == UInt8(ascii: "-") { return true }
            if index + 7 <= bytes.count, bytes[index + 6] == UInt8(ascii: " "),
               zip(bytes[index..<(index + 6)], "bearer".utf8).allSatisfy({ ($0 | 0x20) == $1 }) { return true }
        }
        return false
    }

    private static func startsWord(_ bytes: [UInt8], _ index: Int) -> Bool {
        index == 0 || !keyAlphabet(bytes[index - 1])
    }

    private static func matches(_ bytes: [UInt8], _ index: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return literal.withUTF8Buffer { Array($0) == Array(bytes[index..<(index + count)]) }
    }

    private static func matchesCaseInsensitive(_ bytes: [UInt8], _ index: Int, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return literal.withUTF8Buffer { lower in
            (0..<count).allSatisfy { offset in
                let byte = bytes[index + offset]
                let folded = byte >= 65 && byte <= 90 ? byte + 32 : byte
                return folded == lower[offset]
            }
        }
    }

    private static func run(_ bytes: [UInt8], from start: Int, _ allowed: (UInt8) -> Bool) -> Int {
        var end = start
        while end < bytes.count, allowed(bytes[end]) { end += 1 }
        return end
    }
}
