import ErrWatchCore

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
