/// JSON that errwatch writes: reports and the API's answers, the dashboard's data, webhook,
/// Slack and Alertmanager bodies, ingest lines, log lines and the keys stored with alerts.
///
/// One writer for all of them, so every body escapes strings one way, prints whole numbers
/// without a fraction, writes a number JSON cannot hold as `null`, and keeps its fields in the
/// order given (documented bodies and report columns read in a stable order; Foundation's
/// `JSONEncoder` orders keys by hash on Linux). What errwatch reads back, it decodes with
/// `Decodable` types (``IngestReceipt``, ``JSONValue``).
public indirect enum JSONOutput: Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A whole number.
    case integer(Int64)
    /// A number; not finite is written as `null`.
    case number(Double)
    /// A string, escaped as JSON requires.
    case string(String)
    /// Values in order.
    case array([JSONOutput])
    /// Fields in the order they are written.
    case object([(String, JSONOutput)])

    /// How the text is laid out.
    public enum Layout: Sendable {
        /// No spaces: `{"a":1,"b":[2]}`, for bodies sent and keys stored.
        case compact
        /// One line, spaced: `{"a": 1, "b": [2]}`.
        case spaced
        /// The outer array's elements or object's fields one per line, each spaced: for
        /// reports a person reads and a program parses.
        case lines
    }

    /// `value` as a string, or `null`.
    public static func optional(_ value: String?) -> JSONOutput { value.map(JSONOutput.string) ?? .null }
    /// `value` as a number, or `null`.
    public static func optional(_ value: Double?) -> JSONOutput { value.map(JSONOutput.number) ?? .null }
    /// `value` as a number, or `null`.
    public static func optional(_ value: Int64?) -> JSONOutput { value.map(JSONOutput.integer) ?? .null }
    /// `labels` as an object, keys sorted.
    public static func labels(_ labels: [String: String]) -> JSONOutput {
        .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    /// The JSON text.
    public func text(_ layout: Layout = .compact) -> String {
        var output = ""
        write(to: &output, layout: layout)
        return output
    }

    /// Appends the JSON text to `output`.
    public func write(to output: inout String, layout: Layout = .compact) {
        let (comma, colon) = layout == .compact ? (",", ":") : (", ", ": ")
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .integer(let value): output += String(value)
        case .number(let value): output += Self.numberText(value)
        case .string(let value): Self.quote(value, to: &output)
        case .array(let elements):
            if layout == .lines, !elements.isEmpty {
                output += "[\n"
                for (index, element) in elements.enumerated() {
                    output += "  "
                    element.write(to: &output, layout: .spaced)
                    output += index == elements.count - 1 ? "\n" : ",\n"
                }
                output += "]"
                return
            }
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += comma }
                element.write(to: &output, layout: layout)
            }
            output += "]"
        case .object(let fields):
            let inner: Layout = layout == .lines ? .spaced : layout
            let separator = layout == .lines && !fields.isEmpty ? ",\n  " : comma
            output += layout == .lines && !fields.isEmpty ? "{\n  " : "{"
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { output += separator }
                Self.quote(key, to: &output)
                output += colon
                value.write(to: &output, layout: inner)
            }
            output += layout == .lines && !fields.isEmpty ? "\n}" : "}"
        }
    }

    /// `text` as a JSON string (for a JSON or YAML document written around it).
    public static func quoted(_ text: String) -> String {
        var output = ""
        quote(text, to: &output)
        return output
    }

    private static func quote(_ text: String, to output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }

    /// A whole number without a fraction; not finite is null.
    public static func numberText(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
