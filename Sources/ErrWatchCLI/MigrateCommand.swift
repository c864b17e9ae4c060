import ArgumentParser
import ErrWatchReport
import ErrWatchStore

/// `errwatch migrate`: creates the database or brings its schema up to date.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Creates the database, or applies the schema migrations it lacks.",
        discussion: helpText("""
            Other commands migrate on their own; run this to prepare a file ahead of time or to
            see its schema version. A database written by a newer errwatch is refused, unchanged.

            Example:
              errwatch migrate --db /var/lib/errwatch/errwatch.db
            """))

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions

    func run() async throws {
        let context = CommandContext.current
        let path = database.path(environment: context.environment)
        let store = try database.openForWriting()
        let applied = try store.appliedMigrations()
        Report(
            columns: ["database", "migration"],
            rows: applied.map { [.text(path), .text($0)] }
        ).render(output.format, to: context.standardOutput)
    }
}
