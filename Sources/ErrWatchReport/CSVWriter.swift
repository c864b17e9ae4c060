/// Writes RFC 4180 CSV: a header row, CRLF line ends, fields quoted when they hold a comma,
/// a quote or a line break, UTF-8.
///
/// Error messages come from outside, so a cell a spreadsheet would run as a formula (one
/// starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is neutralised with a leading
/// apostrophe, as OWASP advises. Numbers written through ``number(_:)`` are left alone.
public struct CSVWriter {
    private let write: (String) -> Void

    /// A writer that hands each finished line to `write`.
    public init(write: @escaping (String) -> Void) {
        self.write = write
    }

    /// One field of a row.
    public enum Field {
        /// Text from anywhere: quoted as needed and neutralised if it looks like a formula.
        case text(String)
        /// A number or other value errwatch itself formatted: quoted as needed, never altered.
        case number(String)
    }

    /// Writes one row.
    public func row(_ fields: [Field]) {
        write(fields.map(Self.encode).joined(separator: ",") + "\r\n")
    }

    /// Writes a header row.
    public func header(_ names: [String]) {
        row(names.map { .text($0) })
    }

    /// A field's CSV text.
    public static func encode(_ field: Field) -> String {
        var text: String
        switch field {
        case .text(let value):
            text = value
            if let first = value.utf8.first, [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 9, 13].contains(first) {
                text = "'" + value
            }
        case .number(let value):
            text = value
        }
        // Bytes, not characters: exports run this on millions of fields.
        if text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            text = "\"" + text.replacingQuotes() + "\""
        }
        return text
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        var result = ""
        result.reserveCapacity(count + 2)
        for character in self {
            if character == "\"" { result += "\"\"" } else { result.append(character) }
        }
        return result
    }
}
