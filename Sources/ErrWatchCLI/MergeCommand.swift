import ArgumentParser
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore

/// `errwatch merge`: many hosts' databases into one file, exactly.
struct MergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merges other hosts' errwatch databases into one file: the fleet's history.",
        discussion: helpText("""
            Error rows are copied and call counts added, per minute and series, so every command
            (rates --by host, trend, errors, export, report, alerts test) answers for the whole
            fleet exactly as each agent would for its own calls. Rows recorded without a host (by
            an errwatch older than schema 10) are given the host the source's agent ran as, else
            the file's name; --host names it instead (one source only).

            Merging is incremental and idempotent: merging a file again, or a later copy of it,
            adds only what is new (error rows past the last one copied; minute counts of the
            last hour of the source's activity, which may still change, are replaced). A source
            may be a live agent's database: it is read in one consistent snapshot. Each source
            goes in one transaction, so an interrupted merge leaves the target as it was.

            Example:
              scp web-1:/var/lib/errwatch/errwatch.db web-1.db
              errwatch merge --into fleet.db web-1.db web-2.db
              errwatch rates --db fleet.db --by host,model
            """))

    @Option(help: ArgumentHelp("The database to merge into; created when missing.", valueName: "file"))
    var into: String
    @Option(help: ArgumentHelp("The host name for the source's rows that have none (one source only).", valueName: "name"))
    var host: String?
    @Argument(help: ArgumentHelp("The errwatch databases to merge in.", valueName: "file"))
    var sources: [String]
    @OptionGroup var output: FormatOptions

    func validate() throws {
        guard !sources.isEmpty else { throw ValidationError("Give at least one database to merge into \(into).") }
        if host != nil, sources.count > 1 {
            throw ValidationError("--host names one source's rows; give one file with it, or merge the files one at a time.")
        }
        if let host, host.isEmpty || host.count > OutcomeDecoder.maxNameLength {
            throw ValidationError("Invalid --host '\(host)'; give a name of 1 to \(OutcomeDecoder.maxNameLength) characters.")
        }
    }

    func run() async throws {
        let context = CommandContext.current
        let target = try Store.open(path: into)
        defer { try? target.close() }
        do {
            // Every source is checked before anything is written.
            for source in sources { _ = try target.mergeSource(source) }
            var rows: [[Cell]] = []
            for source in sources {
                let merged = try target.merge(from: source, host: host, now: context.now())
                rows.append([.text(source), .text(merged.host), .bool(merged.again), .integer(Int64(merged.errors)), .integer(merged.calls)])
            }
            Report(columns: ["file", "host", "merged_before", "errors_copied", "calls_added"], rows: rows)
                .render(output.format, to: context.standardOutput)
        } catch let error as ErrWatchError {
            throw ValidationError(error.message)
        }
    }
}
