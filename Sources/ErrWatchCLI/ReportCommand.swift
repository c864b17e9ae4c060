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
            : try PeriodReport.read(store: store, since: start, until: end, by: dimensions).text()
        guard let output else {
            context.standardOutput(text)
            return
        }
        try writeWholeFile(output) { handle in try handle.write(contentsOf: Data(text.utf8)) }
        context.warn("Wrote the report to \(output).")
    }
}
