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

/// How a report is written.
public enum OutputFormat: String, Sendable, CaseIterable {
    case table, json, csv
}

/// Rows with named columns, printed as an aligned table, a JSON array of objects, or CSV.
public struct Report: Sendable {
    /// The column names, as JSON keys and CSV headers.
    public var columns: [String]
    /// The rows, one cell per column.
    public var rows: [[Cell]]

    /// A report of `rows` under `columns`.
    public init(columns: [String], rows: [[Cell]]) {
        self.columns = columns
        self.rows = rows
    }

    /// The report as JSON: an array of objects, one per row, keys in column order.
    public var json: JSONOutput {
        .array(rows.map(object))
    }

    private func object(_ row: [Cell]) -> JSONOutput {
        .object(zip(columns, row).map { ($0, $1.json) })
    }

    /// The report as one text.
    public func rendered(_ format: OutputFormat) -> String {
        var text = ""
        render(format) { text += $0 }
        return text
    }

    /// Writes the report in `format`, piece by piece.
    public func render(_ format: OutputFormat, to output: (String) -> Void) {
        switch format {
        case .table: output(Format.table(columns: columns.map { $0.uppercased() }, rows: rows))
        case .json:
            // Row by row, as `JSONOutput.Layout.lines` lays an array out: an export of a
            // million errors is never one string.
            if rows.isEmpty { output("[]\n"); return }
            output("[\n")
            for (index, row) in rows.enumerated() {
                output("  " + object(row).text(.spaced) + (index == rows.count - 1 ? "\n" : ",\n"))
            }
            output("]\n")
        case .csv:
            withoutActuallyEscaping(output) { output in
                let writer = CSVWriter(write: output)
                writer.header(columns)
                for row in rows { writer.row(row.map(\.csv)) }
            }
        }
    }
}

/// Human formatting for tables.
public enum Format {
    /// A fraction as a percentage with two decimals.
    public static func percent(_ fraction: Double) -> String {
        fixed(fraction * 100, digits: 2) + "%"
    }

    /// `value` with `digits` decimals.
    public static func fixed(_ value: Double, digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = String(abs(rounded) < 0.5 / scale ? 0 : rounded)
        if let dot = text.firstIndex(of: ".") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
            if digits == 0 { text = String(text[..<dot]) }
        } else if digits > 0 {
            text += "." + String(repeating: "0", count: digits)
        }
        return text
    }

    /// Columns padded to their widest cell; numbers right-aligned.
    public static func table(columns: [String], rows: [[Cell]]) -> String {
        let texts = rows.map { $0.map(\.table) }
        var widths = columns.map(\.count)
        for row in texts {
            for (index, text) in row.enumerated() { widths[index] = max(widths[index], text.count) }
        }
        func line(_ cells: [String], numeric: [Bool]) -> String {
            cells.enumerated().map { index, text in
                let padding = String(repeating: " ", count: widths[index] - text.count)
                return numeric[index] ? padding + text : text + padding
            }.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }
        // A column is right-aligned when it holds numbers, its empty cells included.
        let numericColumns = columns.indices.map { index in rows.contains { $0[index].isNumeric } }
        var output = line(columns, numeric: numericColumns)
        for row in texts { output += line(row, numeric: numericColumns) }
        return output
    }

    /// A one-character bar per value, scaled to the largest: `▁▂▃▄▅▆▇█`; a space for nil.
    public static func sparkline(_ values: [Double?]) -> [String] {
        let bars = Array("▁▂▃▄▅▆▇█")
        let top = values.compactMap { $0 }.max() ?? 0
        return values.map { value in
            guard let value else { return " " }
            guard top > 0 else { return String(bars[0]) }
            return String(bars[min(bars.count - 1, Int((value / top * Double(bars.count - 1)).rounded()))])
        }
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
