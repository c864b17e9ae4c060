/// Masks credentials in any text errwatch stores or prints: `sk-…` API keys (OpenAI,
/// Anthropic, OfoxAI and others share the prefix), `Bearer …` tokens, and JSON Web Tokens
/// (`eyJ….….…`) that an upstream echoes without the word Bearer. Percent-encoded forms
/// (`sk%2D…`, `Bearer%20…`) are masked too, and a key glued to a word by `_` (`my_sk-…`).
///
/// A key keeps its last four characters (`sk-***abcd`) so two keys can be told apart, as
/// provider dashboards show them; a bearer token or a JWT keeps nothing.
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
            if startsWord(bytes, index) {
                // `sk-`, or `sk%2D` in a URL or form body.
                let prefix = matches(bytes, index, "sk-") ? 3 : matchesCaseInsensitive(bytes, index, "sk%2d") ? 5 : 0
                if prefix > 0 {
                    let end = run(bytes, from: index + prefix, keyAlphabet)
                    if end - index >= prefix + 8 {
                        output += Array("sk-***".utf8) + bytes[(end - 4)..<end]
                        index = end
                        continue
                    }
                }
                let bearer = matchesCaseInsensitive(bytes, index, "bearer ") ? 7 : matchesCaseInsensitive(bytes, index, "bearer%20") ? 9 : 0
                if bearer > 0 {
                    var tokenStart = index + bearer
                    while tokenStart < bytes.count, bytes[tokenStart] == UInt8(ascii: " ") { tokenStart += 1 }
                    let end = run(bytes, from: tokenStart, tokenAlphabet)
                    if end > tokenStart {
                        output += bytes[index..<(index + 6)] + Array(" ***".utf8)
                        index = end
                        continue
                    }
                }
                if matches(bytes, index, "eyJ"), let end = jwtEnd(bytes, from: index) {
                    output += Array("eyJ***".utf8)
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
        for index in bytes.indices {
            switch bytes[index] {
            case UInt8(ascii: "s"):
                if index + 3 <= bytes.count, bytes[index + 1] == UInt8(ascii: "k"),
                   bytes[index + 2] == UInt8(ascii: "-") || bytes[index + 2] == UInt8(ascii: "%") { return true }
            case UInt8(ascii: "b"), UInt8(ascii: "B"):
                if index + 7 <= bytes.count, bytes[index + 6] == UInt8(ascii: " ") || bytes[index + 6] == UInt8(ascii: "%"),
                   zip(bytes[index..<(index + 6)], "bearer".utf8).allSatisfy({ ($0 | 0x20) == $1 }) { return true }
            case UInt8(ascii: "e"):
                if index + 3 <= bytes.count, bytes[index + 1] == UInt8(ascii: "y"), bytes[index + 2] == UInt8(ascii: "J") { return true }
            default:
                continue
            }
        }
        return false
    }

    /// A secret starts a word: at the start, or after anything but a letter, a digit or `-`
    /// (`my_sk-…` is a key glued to a name; `task-sk-…` is an identifier of its own).
    private static func startsWord(_ bytes: [UInt8], _ index: Int) -> Bool {
        guard index > 0 else { return true }
        let previous = bytes[index - 1]
        return previous == UInt8(ascii: "_") || !keyAlphabet(previous)
    }

    /// The end of a JSON Web Token starting at `start` (three base64url parts joined by dots,
    /// the first two long enough to be a header and claims), or nil when it is not one.
    private static func jwtEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        let base64URL = { (byte: UInt8) in keyAlphabet(byte) }
        var index = start
        for part in 0..<3 {
            let end = run(bytes, from: index, base64URL)
            guard end - index >= (part < 2 ? 10 : 1) else { return nil }
            index = end
            if part < 2 {
                guard index < bytes.count, bytes[index] == UInt8(ascii: ".") else { return nil }
                index += 1
            }
        }
        return index
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
