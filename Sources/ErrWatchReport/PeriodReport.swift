import ErrWatchCore
import ErrWatchStore

/// A period at a glance — what `errwatch report` prints and what a digest sends: calls, errors
/// and the error rate against the period before, one line per group with a sparkline of its
/// error rate, p50/p95 latency and streams' time to first token per group, the top errors
/// with their latest message, and the alerts of the period. Read once, rendered as 80-column
/// text or JSON.
public struct PeriodReport: Sendable {
    /// One error type and code among the most frequent.
    public struct TopError: Sendable, Hashable {
        public var type: String
        public var code: String
        public var errors: Int64
        /// Its latest message.
        public var message: String
    }

    public var since: Int64
    public var until: Int64
    public var dimensions: [Dimension]
    /// Per group, most errors first (``Store/summary(_:by:)``).
    public var rows: [SummaryRow]
    /// Per group, its latency and time-to-first-token percentiles.
    public var timings: [[String]: RateRow.Timings]
    /// Per group, its error rate per sparkline cell.
    public var sparks: [[String]: [Double?]]
    public var topErrors: [TopError]
    /// The alerts that fired, changed severity or resolved in the period, oldest first.
    public var alerts: [AlertEvent]

    /// Sparkline cells per line, and the width of the group column: together they fit 80 columns.
    public static let sparkWidth = 16
    static let groupWidth = 24

    /// The report of `[since, until)` grouped by `dimensions`, read from `store`.
    public static func read(store: Store, since: Int64, until: Int64, by dimensions: [Dimension]) throws -> PeriodReport {
        let filter = Filter(since: since, until: until)
        let rows = try store.summary(filter, by: dimensions)
        let bucket = max(Timestamp.minute, Rollup.ceil((until - since) / Int64(sparkWidth), to: Timestamp.minute))
        let series = try store.trend(filter, bucketMs: bucket, by: dimensions)
        let sparks = Dictionary(series.map { ($0.group, $0.points.map(\.errorRate)) }, uniquingKeysWith: { first, _ in first })
        var timings: [[String]: RateRow.Timings] = [:]
        for row in try store.rates(filter, by: dimensions, timings: true) { timings[row.group] = row.timings }
        var topErrors: [TopError] = []
        for code in try store.rates(filter, by: [.type, .code]).filter({ !$0.group[0].isEmpty }).sorted(by: { $0.errors > $1.errors }).prefix(5) {
            var narrowed = filter
            narrowed.types = [code.group[0]]
            narrowed.codes = [code.group[1]]
            let message = try store.errors(narrowed, limit: 1).events.first?.error.message ?? ""
            topErrors.append(TopError(type: code.group[0], code: code.group[1], errors: code.errors, message: message))
        }
        let alerts = try store.alertHistory(since: since, until: until).reversed().map(\.event)
            .filter { [.firing, .severity, .resolved].contains($0.kind) }
        return PeriodReport(since: since, until: until, dimensions: dimensions, rows: rows, timings: timings, sparks: sparks,
                            topErrors: topErrors, alerts: alerts)
    }

    public var calls: Int64 { rows.reduce(0) { $0 + $1.calls } }
    public var errors: Int64 { rows.reduce(0) { $0 + $1.errors } }
    public var errorRate: Double? { Self.rate(errors, of: calls) }
    public var previousErrorRate: Double? { Self.rate(rows.reduce(0) { $0 + $1.previousErrors }, of: rows.reduce(0) { $0 + $1.previousCalls }) }

    /// The period as text that fits an 80-column terminal.
    public func text() -> String {
        let rate = errorRate
        var text = "errwatch report, \(Timestamp.iso8601(since)) to \(Timestamp.iso8601(until))\n"
        text += "\(calls) calls, \(errors) errors, error rate \(rate.map(Format.percent) ?? "-")"
        text += previousErrorRate.map { " (\(Self.change(rate, $0)) against the \(DurationText.format(until - since)) before)" } ?? ""
        text += "\n\n"
        guard !rows.isEmpty else { return text + "No calls in this period.\n" }

        let name = dimensions.map(\.rawValue).joined(separator: ",")
        let width = Self.groupWidth
        text += Self.pad(Self.cut(name.isEmpty ? "all" : name, width), width) + " " + Self.left("calls", 8) + " " + Self.left("errors", 7) + " "
            + Self.left("rate", 7) + " " + Self.left("change", 8) + "  error rate over time\n"
        for row in rows.prefix(20) {
            let rowRate = Self.rate(row.errors, of: row.calls)
            text += Self.pad(Self.cut(label(row.group), width), width) + " " + Self.left(String(row.calls), 8) + " "
                + Self.left(String(row.errors), 7) + " " + Self.left(rowRate.map(Format.percent) ?? "-", 7) + " "
                + Self.left(Self.rate(row.previousErrors, of: row.previousCalls).map { Self.change(rowRate, $0) } ?? "new", 8) + "  "
                + Self.sparkline(sparks[row.group] ?? []) + "\n"
        }
        if rows.count > 20 { text += "… and \(rows.count - 20) more (errwatch export --report summary has them all)\n" }

        // Durations per group, in the same order: latency, and streams' time to first token.
        text += "\n" + Self.pad("latency", width) + " " + Self.left("p50", 8) + " " + Self.left("p95", 8) + " " + Self.left("streams", 8) + " "
            + Self.left("TTFT p50", 9) + " " + Self.left("TTFT p95", 9) + "\n"
        for row in rows.prefix(20) {
            let timing = timings[row.group]
            func shown(_ value: Double?) -> String { value.map(AlertText.milliseconds) ?? "-" }
            text += Self.pad(Self.cut(label(row.group), width), width) + " " + Self.left(shown(timing?.p50LatencyMs), 8) + " "
                + Self.left(shown(timing?.p95LatencyMs), 8) + " " + Self.left(String(timing?.streams ?? 0), 8) + " "
                + Self.left(shown(timing?.p50FirstTokenMs), 9) + " " + Self.left(shown(timing?.p95FirstTokenMs), 9) + "\n"
        }

        if !topErrors.isEmpty {
            text += "\nTop errors\n"
            for top in topErrors {
                let share = errors > 0 ? Format.percent(Double(top.errors) / Double(errors)) : "-"
                text += Self.left(String(top.errors), 7) + " " + Self.left(share, 7) + "  " + Self.cut("\(top.type) \(top.code)", 62) + "\n"
                if !top.message.isEmpty { text += String(repeating: " ", count: 17) + Self.cut(Self.oneLine(top.message), 62) + "\n" }
            }
        }
        if !alerts.isEmpty {
            text += "\nAlerts\n"
            for event in alerts.suffix(20) {
                text += "  " + Self.cut("\(Timestamp.iso8601(event.at)) \(event.kind.rawValue) \(event.alert.rule)", 76) + "\n"
                if !event.summary.isEmpty { text += "    " + Self.cut(Self.oneLine(event.summary), 74) + "\n" }
            }
            if alerts.count > 20 { text += "  … and \(alerts.count - 20) earlier (errwatch alerts history has them all)\n" }
        }
        return text
    }

    /// The period as JSON, for webhooks: the same figures, every group.
    public func json() -> JSONOutput {
        func milliseconds(_ value: Double?) -> JSONOutput { Report.milliseconds(value).json }
        return .object([
            ("since", .string(Timestamp.iso8601(since))),
            ("until", .string(Timestamp.iso8601(until))),
            ("calls", .integer(calls)),
            ("errors", .integer(errors)),
            ("error_rate", .optional(errorRate)),
            ("previous_error_rate", .optional(previousErrorRate)),
            ("by", .array(dimensions.map { .string($0.rawValue) })),
            ("groups", .array(rows.map { row in
                let timing = timings[row.group]
                return .object(zip(dimensions, row.group).map { ($0.rawValue, .string($1)) } + [
                    ("calls", .integer(row.calls)),
                    ("errors", .integer(row.errors)),
                    ("error_rate", .optional(Self.rate(row.errors, of: row.calls))),
                    ("previous_error_rate", .optional(Self.rate(row.previousErrors, of: row.previousCalls))),
                    ("p50_latency_ms", milliseconds(timing?.p50LatencyMs)),
                    ("p95_latency_ms", milliseconds(timing?.p95LatencyMs)),
                    ("streams", .integer(timing?.streams ?? 0)),
                    ("p50_first_token_ms", milliseconds(timing?.p50FirstTokenMs)),
                    ("p95_first_token_ms", milliseconds(timing?.p95FirstTokenMs)),
                ])
            })),
            ("top_errors", .array(topErrors.map { top in
                .object([("type", .string(top.type)), ("code", .string(top.code)), ("errors", .integer(top.errors)), ("message", .string(top.message))])
            })),
            ("alerts", .array(alerts.map { event in
                .object([("at", .string(Timestamp.iso8601(event.at))), ("event", .string(event.kind.rawValue)), ("rule", .string(event.alert.rule)),
                         ("severity", .string(event.alert.severity.rawValue)), ("summary", .string(event.summary))])
            })),
        ])
    }

    /// A group's values as shown: "(none)" for an empty one, "all" without dimensions.
    func label(_ group: [String]) -> String {
        let text = group.map { $0.isEmpty ? "(none)" : $0 }.joined(separator: " ")
        return text.isEmpty ? "all" : text
    }

    static func rate(_ errors: Int64, of calls: Int64) -> Double? { calls > 0 ? Double(errors) / Double(calls) : nil }

    /// A sparkline of rates, scaled to the line's own highest; `·` where there were no calls.
    static func sparkline(_ rates: [Double?]) -> String {
        let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        let highest = rates.compactMap { $0 }.max() ?? 0
        return String(rates.suffix(sparkWidth).map { rate -> Character in
            guard let rate else { return "·" }
            guard highest > 0 else { return levels[0] }
            return levels[min(levels.count - 1, Int((rate / highest * Double(levels.count - 1)).rounded()))]
        })
    }

    /// The change of a rate in percentage points: "+9.0pp".
    public static func change(_ now: Double?, _ before: Double) -> String {
        guard let now else { return "-" }
        let points = (now - before) * 100
        return (points >= 0 ? "+" : "") + Format.fixed(points, digits: 1) + "pp"
    }

    static func oneLine(_ text: String) -> String { String(text.map { $0.isNewline ? " " : $0 }) }
    static func cut(_ text: String, _ width: Int) -> String { text.count <= width ? text : String(text.prefix(width - 1)) + "…" }
    static func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
    static func left(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
}
