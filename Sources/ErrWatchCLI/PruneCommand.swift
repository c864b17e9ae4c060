import ArgumentParser
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore

/// `errwatch prune`: retention by hand.
struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Deletes errors and call counts older than a given age, by whole UTC days.",
        discussion: helpText("""
            Everything before the start of the UTC day that holds (now - age) is deleted, from
            the history and from every level of counts alike, so rates stay consistent. Deletes
            in small transactions, so a running agent keeps recording meanwhile, then gives the
            freed space back to the file system. With --dry-run, counts what would go and
            deletes nothing. A running agent prunes by itself (retain_*, max_db_size).

            Examples:
              errwatch prune --older-than 30d --dry-run
              errwatch prune --older-than 30d
            """))

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions

    @Option(name: .customLong("older-than"), help: ArgumentHelp("Delete what is older than this: 7d, 30d, 90d.", valueName: "duration"))
    var olderThan: String

    @Flag(name: .customLong("dry-run"), help: "Count what would be deleted; delete nothing.")
    var dryRun = false

    func run() async throws {
        let context = CommandContext.current
        let age = try parseDuration(olderThan, option: "--older-than")
        guard age > 0 else { throw ValidationError("Invalid --older-than '\(olderThan)'; it must be longer than 0s.") }
        let cutoff = Store.retentionCut(context.now() - age)
        let store = dryRun ? try database.openForReading() : try database.openForWriting()
        // At the lowest priority, as the agent prunes: an agent sharing the machine goes first.
        let deleted = try Background.withLowestPriority { try store.deleteOlderThan(cutoff, dryRun: dryRun) }
        Report(columns: ["cutoff", dryRun ? "would_delete_rows" : "deleted_rows"], rows: [[.time(cutoff), .integer(Int64(deleted))]])
            .render(output.format, to: context.standardOutput)
    }
}
