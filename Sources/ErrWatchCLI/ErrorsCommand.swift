import ArgumentParser
import ErrWatchCore
import ErrWatchStore

/// `errwatch errors`: the error history, newest first.
struct ErrorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errors",
        abstract: "Lists recorded errors, newest first.",
        discussion: """
            Filters combine: every given filter must hold; a comma list means any of its values.
            A page ends with the cursor for the next one (printed on standard error).

            Examples:
              errwatch errors --since 1h --type rate_limit_error --limit 100
              errwatch errors --status 5xx --model gpt-4o --grep timeout --format json
            """)

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
        var filter = try range.filter(now: context.now())
        filter.retryable = retryable
        filter.messageContains = grep
        let store = try database.openForReading()
        let page = try store.errors(filter, limit: limit, after: cursor.flatMap(HistoryCursor.init))

        let table = output.format == .table
        Report(
            columns: ["ts", "app", "endpoint", "model", "status", "type", "code", "message", "retryable", "attempt", "latency_ms", "request_id"],
            rows: page.events.map { event in
                let outcome = event.outcome
                let message = table && event.error.message.count > 80 ? String(event.error.message.prefix(79)) + "…" : event.error.message
                return [
                    .time(outcome.timestamp), .text(outcome.app), .text(outcome.endpoint), .text(outcome.model),
                    outcome.status.map { .integer(Int64($0)) } ?? .null,
                    .text(event.error.type.rawValue), .text(event.error.code), .text(table ? message.singleLine : message),
                    .bool(event.error.retryable), .integer(Int64(outcome.attempt)),
                    outcome.latencyMs.map { .integer($0) } ?? .null, outcome.requestID.map { .text($0) } ?? .null,
                ]
            }
        ).render(output.format, to: context.standardOutput)
        if let next = page.next {
            context.warn("next page: --cursor \(next)")
        }
    }
}

extension String {
    /// The text with line breaks and tabs shown as spaces, for one table row.
    var singleLine: String {
        String(map { $0.isNewline || $0 == "\t" ? " " : $0 })
    }
}
