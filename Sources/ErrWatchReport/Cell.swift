import ErrWatchCore

/// A value in a printed report, typed so each format can write it its own way.
public enum Cell: Sendable {
    /// Text from anywhere.
    case text(String)
    /// A whole number.
    case integer(Int64)
    /// Yes or no.
    case bool(Bool)
    /// A UTC time in milliseconds: ISO-8601 everywhere.
    case time(Int64)
    /// A fraction: a percentage in tables, a number in JSON and CSV.
    case rate(Double?)
    /// A plain number with `digits` decimals in tables.
    case number(Double?, digits: Int)
    /// Labels: an object in JSON, `key=value` pairs elsewhere.
    case labels([String: String])
    /// No value.
    case null

    /// The cell as JSON.
    public var json: JSONOutput {
        switch self {
        case .text(let value): .string(value)
        case .integer(let value): .integer(value)
        case .bool(let value): .bool(value)
        case .time(let value): .string(Timestamp.iso8601(value))
        case .rate(let value), .number(let value, _): .optional(value)
        case .labels(let labels): .labels(labels)
        case .null: .null
        }
    }

    /// The cell as a CSV field.
    public var csv: CSVWriter.Field {
        switch self {
        case .text(let value): .text(value)
        case .integer(let value): .number(String(value))
        case .bool(let value): .number(value ? "true" : "false")
        case .time(let value): .number(Timestamp.iso8601(value))
        case .rate(let value?), .number(let value?, _): .number(value.isFinite ? JSONOutput.numberText(value) : "")
        case .labels(let labels): .text(Self.pairs(labels))
        case .rate(nil), .number(nil, _), .null: .number("")
        }
    }

    /// The cell as table text.
    public var table: String {
        switch self {
        case .text(let value): value.isEmpty ? "-" : value
        case .integer(let value): String(value)
        case .bool(let value): value ? "yes" : "no"
        case .time(let value): Timestamp.iso8601(value)
        case .rate(let value?): Format.percent(value)
        case .number(let value?, let digits): Format.fixed(value, digits: digits)
        case .labels(let labels): labels.isEmpty ? "-" : Self.pairs(labels)
        case .rate(nil), .number(nil, _), .null: "-"
        }
    }

    private static func pairs(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// Whether the cell is a number (right-aligned in tables).
    public var isNumeric: Bool {
        switch self {
        case .integer, .rate, .number: true
        default: false
        }
    }
}
