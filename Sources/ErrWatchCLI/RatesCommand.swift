import ArgumentParser
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore

/// `errwatch rates`: error rates over a window, grouped.
struct RatesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rates",
        abstract: "Prints calls, errors and the error rate over a window, per group.",
        discussion: helpText("""
            The window ends now, or at --until. Counts have minute resolution: a minute is in
            the window when it starts inside it. Groups with the most errors come first.

            Examples:
              errwatch rates --window 1h --by model
              errwatch rates --window 30d --by app,type --format csv
            """))

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions
    @OptionGroup var dimensions: DimensionFilterOptions

    @Option(help: ArgumentHelp("The window's length: 5m, 1h, 7d, 30d.", valueName: "duration"))
    var window = "1h"
    @Option(help: ArgumentHelp("The window's end: 'now', a span back from now, or an ISO-8601 time.", valueName: "time"))
    var until = "now"
    @Option(help: ArgumentHelp("Group by these dimensions: app, endpoint, model, upstream, provider, host, status, type, code, fault (comma list).", valueName: "dimensions"))
    var by = ""

    func run() async throws {
        let context = CommandContext.current
        let length = try parseDuration(window, option: "--window")
        guard length > 0 else { throw ValidationError("Invalid --window '\(window)'; it must be longer than 0s.") }
        let end = try parseTime(until, option: "--until", now: context.now())
        let groups: [Dimension]
        do { groups = try Dimension.parseList(by) } catch { throw ValidationError(error) }
        var filter = try makeFilter(dimensions.parameters, now: context.now())
        filter.since = end - length
        filter.until = end
        let store = try database.openForReading()
        let rows = try store.rates(filter, by: groups)
        try context.noteRetention(store, since: filter.since, reading: [.rollups, .minuteCounts])
        if output.format == .table, rows.allSatisfy({ $0.calls == 0 }) {
            context.print(try noCallsHint(store, since: filter.since, until: filter.until))
            return
        }
        Report.rates(rows, by: groups).render(output.format, to: context.standardOutput)
    }
}
