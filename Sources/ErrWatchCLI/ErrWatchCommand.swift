import ArgumentParser

/// `errwatch`: the root command. The executable is `@main extension ErrWatchCommand {}`.
public struct ErrWatchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "errwatch",
        abstract: "Records the outcome of every LLM API call and reports error rates and trends.",
        discussion: """
            Outcomes live in one SQLite file: --db PATH, else $ERRWATCH_DB, else ./errwatch.db.
            Every command that prints data takes --format table|json|csv.
            """,
        version: "0.1.0",
        subcommands: [
            DemoCommand.self, AgentCommand.self, IngestCommand.self, ErrorsCommand.self, RatesCommand.self, TrendCommand.self,
            AlertsCommand.self, ExportCommand.self, ReportCommand.self, MockUpstreamCommand.self,
            MigrateCommand.self, PruneCommand.self, BackupCommand.self, BenchCommand.self,
        ])

    public init() {}
}
