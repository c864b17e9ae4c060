import ArgumentParser
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore

/// `errwatch errors`: the error history, newest first.
struct ErrorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errors",
        abstract: "Lists recorded errors, newest first.",
        discussion: helpText("""
            Filters combine: every given filter must hold; a comma list means any of its values.
            A page ends with the cursor for the next one (printed on standard error).

            Examples:
              errwatch errors --since 1h --type rate_limit_error --limit 100
              errwatch errors --status 5xx --model gpt-4o --grep timeout --format json
            """))

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions
    @OptionGroup var range: RangeFilterOptions
    @Option(help: ArgumentHelp("Only retryable (true) or non-retryable (false) errors.", valueName: "true|false"))
    var retryable: Bool?
    @Option(help: ArgumentHelp("Only errors whose message contains this text (case-insensitive).", valueName: "text"))
    var grep: String?
    @Option(help: "The most errors to print.")
    var limit = 50
    @Option(help: ArgumentHelp("Continue after this cursor, as printed at the end of a page.", valueName: "cursor"))
    var cursor: String?

    func validate() throws {
        guard (1...100_000).contains(limit) else {
            throw ValidationError("Invalid --limit \(limit); give a number from 1 to 100000.")
        }
        if let cursor, HistoryCursor(cursor) == nil {
            throw ValidationError("Invalid --cursor '\(cursor)'; pass the value printed after 'next page:'.")
        }
    }

    func run() async throws {
        let context = CommandContext.current
        var parameters = range.parameters
        parameters.retryable = retryable.map { $0 ? "true" : "false" }
        parameters.grep = grep
        let filter = try makeFilter(parameters, now: context.now())
        let store = try database.openForReading()
        let page = try store.errors(filter, limit: limit, after: cursor.flatMap(HistoryCursor.init))

        Report.errors(page.events, forTable: output.format == .table).render(output.format, to: context.standardOutput)
        if let next = page.next {
            context.warn("next page: --cursor \(next)")
        }
        try context.noteRetention(store, since: filter.since, reading: [.errors])
    }
}
