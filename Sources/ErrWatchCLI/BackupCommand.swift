import ArgumentParser
import ErrWatchCore
import ErrWatchStore

/// `errwatch backup`: a consistent one-file copy of a database, safe while the agent runs.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copies the database into one new file, safely while the agent is writing to it.",
        discussion: helpText("""
            A live database is the .db file plus the -wal and -shm files beside it; copying the
            .db alone can miss the latest writes. This writes everything into one new file
            (SQLite's VACUUM INTO), which opens anywhere.

            Example:
              errwatch backup --db /var/lib/errwatch/errwatch.db /backups/errwatch.db
            """))

    @OptionGroup var database: DatabaseOptions
    @Argument(help: ArgumentHelp("The new file to write.", valueName: "file"))
    var target: String

    func run() async throws {
        let context = CommandContext.current
        let store = try database.openForReading()
        do {
            try store.backup(to: target)
        } catch let error as ErrWatchError {
            throw ValidationError(error.message)
        }
        context.standardOutput("Backed up \(database.path(environment: context.environment)) into \(target).\n")
    }
}
