import ArgumentParser
import ErrWatchAgent
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch report`: a period at a glance, in a terminal or as a file to share.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Prints a period's summary with a sparkline per group and the top errors, or writes it as one HTML file.",
        discussion: helpText("""
            text (the default) fits an 80-column terminal: the totals and their change against the
            period before, one line per --by group (default model) with calls, errors, error rate,
            change and a sparkline of the error rate over the period; per group again, p50 and p95
            latency and streams' time to first token (TTFT); then the top errors with their
            latest message. html writes the dashboard's page with the period's data inside:
            one file, no network needed, to attach or share (--output, or standard output).

            Examples:
              errwatch report --since 24h
              errwatch report --since 7d --by app --format html --output week.html
            """))

    enum Style: String, ExpressibleByArgument, CaseIterable { case text, html }

    @OptionGroup var database: DatabaseOptions
    @Option(help: ArgumentHelp("Start: a span back from now or an ISO-8601 time.", valueName: "time"))
    var since = "24h"
    @Option(help: ArgumentHelp("End (exclusive).", valueName: "time"))
    var until = "now"
    @Option(help: ArgumentHelp("Group lines by these dimensions (text).", valueName: "dimensions"))
    var by = "model"
    @Option(help: "text or html.")
    var format: Style = .text
    @Option(help: ArgumentHelp("Write to this file (whole or not at all) instead of standard output.", valueName: "file"))
    var output: String?

    /// Sparkline cells per line, and the width of the group column: together they fit 80 columns.
    static let sparkWidth = 16
    static let groupWidth = 24

    func run() async throws {
        let context = CommandContext.current
        let now = context.now()
        let start = try parseTime(since, option: "--since", now: now)
        let end = try parseTime(until, option: "--until", now: now)
        guard start < end else { throw ValidationError("--since (\(since)) must be before --until (\(until)).") }
        let dimensions: [ErrWatchCore.Dimension]
        do { dimensions = try ErrWatchCore.Dimension.parseList(by) } catch { throw ValidationError(error) }
        let store = try database.openForReading()
        let text = format == .html
            ? try DashboardPage.report(store: store, since: start, until: end, generatedAt: now)
            : try Self.text(store: store, since: start, until: end, by: dimensions)
        guard let output else {
            context.standardOutput(text)
            return
        }
        try writeWholeFile(output) { handle in try handle.write(contentsOf: Data(text.utf8)) }
        context.warn("Wrote the report to \(output).")
    }

    /// The terminal report.
    static func text(store: Store, since: Int64, until: Int64, by dimensions: [ErrWatchCore.Dimension]) throws -> String {
        let filter = Filter(since: since, until: until)
        let rows = try store.summary(filter, by: dimensions)
        let length = until - since
        let bucket = max(Timestamp.minute, Rollup.ceil(length / Int64(sparkWidth), to: Timestamp.minute))
        let series = try store.trend(filter, bucketMs: bucket, by: dimensions)
        let sparks = Dictionary(series.map { ($0.group, $0.points.map(\.errorRate)) }, uniquingKeysWith: { first, _ in first })

        let calls = rows.reduce(0) { $0 + $1.calls }, errors = rows.reduce(0) { $0 + $1.errors }
        let previousCalls = rows.reduce(0) { $0 + $1.previousCalls }, previousErrors = rows.reduce(0) { $0 + $1.previousErrors }
        let rate = calls > 0 ? Double(errors) / Double(calls) : nil
        let previous = previousCalls > 0 ? Double(previousErrors) / Double(previousCalls) : nil
        var text = "errwatch report, \(Timestamp.iso8601(since)) to \(Timestamp.iso8601(until))\n"
        text += "\(calls) calls, \(errors) errors, error rate \(rate.map(ErrWatchReport.Format.percent) ?? "-")"
        text += previous.map { " (\(change(rate, $0)) against the \(DurationText.format(length)) before)" } ?? ""
        text += "\n\n"
        guard !rows.isEmpty else { return text + "No calls in this period.\n" }

        let name = dimensions.map(\.rawValue).joined(separator: ",")
        text += pad(cut(name.isEmpty ? "all" : name, groupWidth), groupWidth) + " " + left("calls", 8) + " " + left("errors", 7) + " "
            + left("rate", 7) + " " + left("change", 8) + "  error rate over time\n"
        for row in rows.prefix(20) {
            let rowRate = row.calls > 0 ? Double(row.errors) / Double(row.calls) : nil
            let rowPrevious = row.previousCalls > 0 ? Double(row.previousErrors) / Double(row.previousCalls) : nil
            let label = row.group.map { $0.isEmpty ? "(none)" : $0 }.joined(separator: " ")
            text += pad(cut(label.isEmpty ? "all" : label, groupWidth), groupWidth) + " " + left(String(row.calls), 8) + " "
                + left(String(row.errors), 7) + " " + left(rowRate.map(ErrWatchReport.Format.percent) ?? "-", 7) + " "
                + left(rowPrevious.map { change(rowRate, $0) } ?? "new", 8) + "  " + sparkline(sparks[row.group] ?? []) + "\n"
        }
        if rows.count > 20 { text += "… and \(rows.count - 20) more (errwatch export --report summary has them all)\n" }

        // Durations per group, in the same order: latency, and streams' time to first token.
        let timings = Dictionary(try store.rates(filter, by: dimensions, timings: true).map { ($0.group, $0.timings) }, uniquingKeysWith: { first, _ in first })
        text += "\n" + pad("latency", groupWidth) + " " + left("p50", 8) + " " + left("p95", 8) + " " + left("streams", 8) + " "
            + left("TTFT p50", 9) + " " + left("TTFT p95", 9) + "\n"
        for row in rows.prefix(20) {
            let label = row.group.map { $0.isEmpty ? "(none)" : $0 }.joined(separator: " ")
            let timing = timings[row.group] ?? nil
            func shown(_ value: Double?) -> String { value.map(AlertText.milliseconds) ?? "-" }
            text += pad(cut(label.isEmpty ? "all" : label, groupWidth), groupWidth) + " " + left(shown(timing?.p50LatencyMs), 8) + " "
                + left(shown(timing?.p95LatencyMs), 8) + " " + left(String(timing?.streams ?? 0), 8) + " "
                + left(shown(timing?.p50FirstTokenMs), 9) + " " + left(shown(timing?.p95FirstTokenMs), 9) + "\n"
        }

        let codes = try store.rates(filter, by: [.type, .code]).filter { !$0.group[0].isEmpty }.sorted { $0.errors > $1.errors }.prefix(5)
        if !codes.isEmpty {
            text += "\nTop errors\n"
            for code in codes {
                var narrowed = filter
                narrowed.types = [code.group[0]]
                narrowed.codes = [code.group[1]]
                let message = try store.errors(narrowed, limit: 1).events.first?.error.message ?? ""
                let share = errors > 0 ? ErrWatchReport.Format.percent(Double(code.errors) / Double(errors)) : "-"
                text += left(String(code.errors), 7) + " " + left(share, 7) + "  " + cut("\(code.group[0]) \(code.group[1])", 62) + "\n"
                if !message.isEmpty {
                    text += String(repeating: " ", count: 17) + cut(message.map { $0.isNewline ? " " : $0 }.reduce(into: "") { $0.append($1) }, 62) + "\n"
                }
            }
        }
        return text
    }

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

    static func change(_ now: Double?, _ before: Double) -> String {
        guard let now else { return "-" }
        let points = (now - before) * 100
        return (points >= 0 ? "+" : "") + ErrWatchReport.Format.fixed(points, digits: 1) + "pp"
    }

    static func cut(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "…"
    }
    static func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
    static func left(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
}
