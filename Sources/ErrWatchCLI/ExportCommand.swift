import ArgumentParser
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch export`: CSV reports, streamed.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Writes a CSV report: events, rates, summary or alerts.",
        discussion: helpText("""
            events: one row per recorded error, newest first (the fields of `errors`).
            rates: one row per --bucket and --by group: calls, errors, error_rate, then the
              errors of each error type.
            summary: one row per --by group (default app,model): calls, errors, error_rate,
              retryable_share, top_codes, p50 and p95 latency (estimated from the latency
              histogram), and the error rate of the previous period of the same length with the
              change.
            alerts: the alert history, newest first.

            RFC 4180 (header, CRLF, quoting), UTF-8, ISO-8601 UTC times; cells a spreadsheet
            would run as formulas are prefixed with '. Rows stream out a page at a time. With
            --output the file is written under a temporary name and renamed when complete, so a
            failed export never leaves a half file.

            Examples:
              errwatch export --report events --since 7d --output errors.csv
              errwatch export --report rates --since 24h --bucket 1h --by model
              errwatch export --report summary --since 30d --by app
            """))

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var range: RangeFilterOptions
    @Option(help: ArgumentHelp("The report: events, rates, summary or alerts.", valueName: "name"))
    var report: String
    @Option(help: ArgumentHelp("Group by these dimensions (rates, summary): app, endpoint, model, upstream, provider, host, status, type, code, fault.", valueName: "dimensions"))
    var by: String?
    @Option(help: ArgumentHelp("Bucket length for rates (default: at most 60 buckets).", valueName: "duration"))
    var bucket: String?
    @Option(help: ArgumentHelp("Write to this file (complete or not at all) instead of standard output.", valueName: "file"))
    var output: String?

    func run() async throws {
        let context = CommandContext.current
        let store = try database.openForReading()
        let export: CSVExport
        do {
            export = try CSVExport(store: store, report: report, parameters: range.parameters, by: by, bucket: bucket,
                                   now: context.now(), prefix: "--")
        } catch {
            throw ValidationError(error)
        }
        guard let output else {
            while let chunk = try export.nextChunk() { context.standardOutput(chunk) }
            return
        }
        try writeWholeFile(output) { handle in
            while let chunk = try export.nextChunk() {
                try handle.write(contentsOf: Data(chunk.utf8))
            }
        }
        context.warn("Wrote \(export.rows) row\(export.rows == 1 ? "" : "s") to \(output).")
    }
}
