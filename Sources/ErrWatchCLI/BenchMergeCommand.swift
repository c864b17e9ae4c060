import ArgumentParser
import ErrWatchBench
import ErrWatchCore
import ErrWatchReport
import Foundation

/// `errwatch bench merge`.
struct BenchMergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Measures merging a fleet's databases into one file, against bare SQLite copying the same rows.",
        discussion: helpText("""
            Generates --rows error rows over --days days (as bench query does) and copies them
            into --files hosts' databases, each its own identity and host. Then runs
            `errwatch merge` as its own process into a new file, and once more over the same
            files (nothing new), and moves the same rows (error rows and the minute, hourly and
            daily count rows) by bare SQLite (ATTACH and INSERT … SELECT, one transaction per
            file); --runs times, printing the median time, error rows per second and peak
            resident set of each, with the ratio of merge to bare SQLite.

            Example:
              swift run -c release errwatch bench merge --keep /tmp/fleet-sources
            """))

    @Option(help: "Hosts' files to merge.")
    var files = 10
    @Option(help: "Error rows in each file.")
    var rows = 1_000_000
    @Option(help: "Days the rows span, ending now.")
    var days = 7
    @Option(help: "Runs (each a merge into a new file, the merge again and the baseline); medians are printed.")
    var runs = 3
    @Option(help: ArgumentHelp("Keep the generated files in this folder (reused when they exist).", valueName: "path"))
    var keep: String?

    func run() async throws {
        let context = CommandContext.current
        guard (1...100).contains(files), rows >= 1_000, days >= 1, (1...99).contains(runs) else {
            throw ValidationError("Give --files from 1 to 100, --rows of at least 1000, --days of at least 1 and --runs from 1 to 99.")
        }
        #if DEBUG
        context.warn("warning: this is a debug build; measure with 'swift run -c release errwatch bench merge'.")
        #endif
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let benchmark = MergeBenchmark(binary: binary, files: files, rows: rows, days: days, keep: keep, runs: runs)
        try await benchmark.run(now: context.now()) { context.warn($0) }.render(.table, to: context.standardOutput)
    }
}
