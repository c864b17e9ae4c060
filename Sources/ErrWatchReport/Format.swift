import ErrWatchCore

/// Human formatting for tables.
public enum Format {
    /// A fraction as a percentage with two decimals.
    public static func percent(_ fraction: Double) -> String {
        fixed(fraction * 100, digits: 2) + "%"
    }

    /// `value` with `digits` decimals.
    public static func fixed(_ value: Double, digits: Int) -> String { NumberText.fixed(value, digits: digits) }

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
