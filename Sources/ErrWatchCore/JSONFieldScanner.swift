import Foundation

/// Reads fields out of JSON text that a parser refused: a body cut short by a size limit, a
/// stream payload, a gateway's not-quite-JSON. It finds `"key": value` wherever it occurs,
/// without building the object, so what precedes the damage is still read.
///
/// The classifier (damaged error bodies), the request reader (damaged request bodies) and the
/// stream scanner (is this payload an error object?) all read fields this one way.
public enum JSONFieldScanner {
    /// The text after each `"key":` in `text` (spaces skipped), first occurrence first.
    public static func values(of key: String, in text: Substring) -> some Sequence<Substring> {
        let needle = "\"\(key)\""
        var rest = text
        return AnyIterator<Substring> {
            while let range = rest.range(of: needle) {
                rest = rest[range.upperBound...]
                let cursor = rest.drop(while: isSpace)
                guard cursor.first == ":" else { continue }
                return cursor.dropFirst().drop(while: isSpace)
            }
            return nil
        }
    }

    /// The first string value of `key` that `accept` takes, unescaped. A string cut off before
    /// its closing quote counts only when `acceptingUnterminated` (a message cut by a size limit
    /// still says what went wrong; a cut type or code would be a different word).
    public static func string(
        _ key: String, in text: Substring, acceptingUnterminated: Bool = false,
        where accept: (String) -> Bool = { _ in true }
    ) -> String? {
        for value in values(of: key, in: text) {
            guard let (string, closed) = unquote(value), closed || acceptingUnterminated else { continue }
            if accept(string) { return string }
        }
        return nil
    }

    /// The first non-string value of `key` (a number, `true`, `false`, `null`) as written.
    public static func literal(_ key: String, in text: Substring) -> Substring? {
        for value in values(of: key, in: text) where value.first != "\"" {
            return value.prefix { $0 != "," && $0 != "}" && $0 != "]" && !isSpace($0) }
        }
        return nil
    }

    /// The string starting at `value`'s opening quote, unescaped, and whether it was closed.
    private static func unquote(_ value: Substring) -> (String, closed: Bool)? {
        guard value.first == "\"" else { return nil }
        var result = ""
        var escaped = false
        for character in value.dropFirst() {
            if escaped { result.append(character); escaped = false; continue }
            if character == "\\" { escaped = true; continue }
            if character == "\"" { return (result, true) }
            result.append(character)
        }
        return (result, false)
    }

    private static func isSpace(_ character: Character) -> Bool {
        character == " " || character == "\n" || character == "\t" || character == "\r"
    }
}
