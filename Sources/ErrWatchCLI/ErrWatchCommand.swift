import ArgumentParser
import Foundation

/// `errwatch`: the root command. The executable is `@main extension ErrWatchCommand {}`.
public struct ErrWatchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "errwatch",
        abstract: "Records the outcome of every LLM API call and reports error rates and trends.",
        discussion: helpText("""
            Outcomes live in one SQLite file: --db PATH, else $ERRWATCH_DB, else ./errwatch.db.
            Every command that prints data takes --format table|json|csv.
            """),
        version: "0.1.0",
        subcommands: [
            DemoCommand.self, AgentCommand.self, IngestCommand.self, ErrorsCommand.self, RatesCommand.self, TrendCommand.self,
            AlertsCommand.self, ExportCommand.self, ReportCommand.self, MockUpstreamCommand.self,
            DigestCommand.self, MigrateCommand.self, PruneCommand.self, BackupCommand.self, MergeCommand.self, BenchCommand.self,
        ])

    public init() {}
}

extension ErrWatchCommand {
    /// The names the first argument may take: the subcommands.
    static var commandNames: [String] {
        configuration.subcommands.compactMap { $0.configuration.commandName }
    }

    /// The command `arguments` ask for. A first word that names no command is refused with
    /// the nearest name (`Unknown command 'rate'; did you mean 'rates'?`) rather than with what
    /// the parser would say about its options.
    public static func parseCommand(_ arguments: [String]) throws -> any ParsableCommand {
        if let first = arguments.first, !first.hasPrefix("-"), first != "help", !commandNames.contains(first) {
            let nearest = commandNames.map { ($0, editDistance(first, $0)) }.min { $0.1 < $1.1 }
            let hint = nearest.flatMap { $0.1 <= max(2, first.count / 3) ? " did you mean '\($0.0)'?" : nil }
                ?? " the commands are: \(commandNames.joined(separator: ", "))."
            throw ValidationError("Unknown command '\(first)';\(hint)")
        }
        return try parseAsRoot(arguments)
    }

    /// Runs the command the process was started with, as the default `main` does, through
    /// ``parseCommand(_:)``.
    public static func main() async {
        var command: any ParsableCommand
        do {
            command = try parseCommand(Array(CommandLine.arguments.dropFirst()))
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let (message, code) = failure(error, in: type(of: command))
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            Foundation.exit(code.rawValue)
        }
    }

    /// What to print and how to exit when `command` fails while running: a validation error
    /// with that command's own usage (`Usage: errwatch rates …`), not the root's; anything else
    /// as ArgumentParser says it.
    public static func failure(_ error: any Error, in command: any ParsableCommand.Type) -> (message: String, code: ExitCode) {
        guard let validation = error as? ValidationError, command != Self.self else {
            return (fullMessage(for: error), exitCode(for: error))
        }
        let usage = usageString(for: command).trimmingCharacters(in: .whitespacesAndNewlines)
        // The command's path (`errwatch alerts list`): the usage's words before its first option.
        let name = usage.split(separator: " ").prefix { !($0.first.map { "[<-".contains($0) } ?? true) }.joined(separator: " ")
        return ("Error: \(validation.message)\nUsage: \(usage)\n  See '\(name) --help' for more information.", .validationFailure)
    }

    /// Levenshtein distance between two short words.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
