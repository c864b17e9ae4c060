import ArgumentParser
import ErrWatchAgent
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch alerts`: the rules, the alerts as they stand, their history, and replays.
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Checks alert rules, shows alerts and their history, and replays rules over the past.",
        subcommands: [Rules.self, List.self, History.self, Test.self])

    /// `--config`: the agent's YAML file, else `$ERRWATCH_CONFIG`.
    struct ConfigOptions: ParsableArguments {
        @Option(help: ArgumentHelp("The agent's YAML configuration (default: $ERRWATCH_CONFIG).", valueName: "file"))
        var config: String?

        /// The configuration, or nil when no file is named and `required` is false.
        func load(required: Bool) throws -> AgentConfiguration? {
            let environment = CommandContext.current.environment
            guard let file = config ?? environment["ERRWATCH_CONFIG"] else {
                if required { throw ValidationError("Name the configuration file with --config FILE (or ERRWATCH_CONFIG).") }
                return nil
            }
            do {
                return try AgentConfiguration.load(file: file, environment: environment)
            } catch {
                throw ValidationError(error)
            }
        }
    }

    struct Rules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validates a configuration's rules and prints them with their effective settings.",
            discussion: helpText("""
                Exits with status 64 and one line naming the file, the line and the reason when the
                rules or notifiers are wrong; the agent refuses such a file the same way.

                Example:
                  errwatch alerts rules --config /etc/errwatch.yaml
                """))

        @OptionGroup var config: ConfigOptions
        @OptionGroup var output: FormatOptions

        func run() async throws {
            let configuration = try config.load(required: true)!
            Report.rules(configuration.alerts.rules).render(output.format, to: CommandContext.current.standardOutput)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prints the alerts as they stand: pending, firing, and the last resolved of each rule and group.",
            discussion: helpText("""
                Examples:
                  errwatch alerts list
                  errwatch alerts list --state firing --format json
                """))

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var config: ConfigOptions
        @OptionGroup var output: FormatOptions
        @Option(help: ArgumentHelp("Only these states: pending, firing, resolved, active (comma list).", valueName: "states"))
        var state: String?

        func run() async throws {
            let phases: Set<AlertPhase>
            do { phases = try AlertPhase.parseList(state, name: "--state") } catch { throw ValidationError(error) }
            let configuration = try config.load(required: false)
            let rules = configuration?.alerts.rules ?? []
            let alerts = try database.openForReading(configured: configuration).alerts().filter { phases.contains($0.phase) }
            Report.alerts(alerts, rules: rules).render(output.format, to: CommandContext.current.standardOutput)
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prints what happened to alerts: pending, firing, severity changes, repeats, resolutions.",
            discussion: helpText("""
                Newest first. Examples:
                  errwatch alerts history --since 7d
                  errwatch alerts history --rule high-error-rate --format csv
                """))

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var config: ConfigOptions
        @OptionGroup var output: FormatOptions
        @Option(help: ArgumentHelp("Start: a span back from now (30m, 24h, 7d) or an ISO-8601 time.", valueName: "time"))
        var since = "24h"
        @Option(help: ArgumentHelp("End (exclusive): 'now', a span back from now, or an ISO-8601 time.", valueName: "time"))
        var until = "now"
        @Option(help: ArgumentHelp("Only this rule's events.", valueName: "name"))
        var rule: String?
        @Option(help: "At most this many events.")
        var limit = 1_000

        func run() async throws {
            let now = CommandContext.current.now()
            let start = try parseTime(since, option: "--since", now: now)
            let end = try parseTime(until, option: "--until", now: now)
            guard start < end else { throw ValidationError("--since (\(since)) must be before --until (\(until)).") }
            guard limit > 0 else { throw ValidationError("Invalid --limit \(limit); give a number above 0.") }
            let configuration = try config.load(required: false)
            let rules = configuration?.alerts.rules ?? []
            let rows = try database.openForReading(configured: configuration).alertHistory(since: start, until: end, rule: rule, limit: limit)
            Report.alertHistory(rows.map(\.event), rules: rules).render(output.format, to: CommandContext.current.standardOutput)
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replays the recorded counts minute by minute through a configuration's rules.",
            discussion: helpText("""
                Prints when each rule would have fired and resolved, then per rule how many
                notifications it would have sent, how often it flapped (fired again within an hour of
                resolving) and the time it spent firing. Nothing is sent and nothing is written: tune
                thresholds on real history before deploying them. CSV prints the per-rule summary.

                Example:
                  errwatch alerts test --config errwatch.yaml --since 7d
                """))

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var config: ConfigOptions
        @OptionGroup var output: FormatOptions
        @Option(help: ArgumentHelp("Start of the replay: a span back from now or an ISO-8601 time.", valueName: "time"))
        var since = "7d"
        @Option(help: ArgumentHelp("End of the replay (exclusive).", valueName: "time"))
        var until = "now"

        func run() async throws {
            let context = CommandContext.current
            let configuration = try config.load(required: true)!
            let rules = configuration.alerts.rules
            guard !rules.isEmpty else { throw ValidationError("The configuration has no rules to replay; add some under rules:.") }
            let now = context.now()
            let start = try parseTime(since, option: "--since", now: now)
            let end = try parseTime(until, option: "--until", now: now)
            guard start < end else { throw ValidationError("--since (\(since)) must be before --until (\(until)).") }
            let store = try database.openForReading(configured: configuration)
            let lookback = rules.map(\.lookbackNeededMs).max() ?? 0
            let source = ReplaySource(rows: try store.minuteRows(since: start - lookback, until: end,
                                                                 latency: rules.contains { $0.kind.readsHistograms }))
            let replay = AlertReplay.run(rules, source: source, since: start, until: end)
            let fired = replay.events.filter { [.firing, .severity, .resolved].contains($0.kind) }
            let events = Report.alertHistory(fired, rules: rules)
            let summary = Report.replay(replay.summaries)
            switch output.format {
            case .table:
                context.print("Replayed \(rules.count) rule(s) from \(Timestamp.iso8601(start)) to \(Timestamp.iso8601(end)), minute by minute; nothing was sent.")
                context.print()
                if fired.isEmpty { context.print("No rule would have fired.") } else { events.render(.table, to: context.standardOutput) }
                context.print()
                summary.render(.table, to: context.standardOutput)
            case .json:
                context.print(JSONOutput.object([
                    ("since", .string(Timestamp.iso8601(start))), ("until", .string(Timestamp.iso8601(end))),
                    ("rules", summary.json), ("events", events.json),
                ]).text(.lines))
            case .csv:
                summary.render(.csv, to: context.standardOutput)
            }
        }
    }
}

extension DatabaseOptions {
    /// The database to read: `--db`, else `ERRWATCH_DB`, else the configuration file's `db:`
    /// (the agent's own, which `alerts` commands given `--config` mean), else `./errwatch.db`.
    func openForReading(configured configuration: AgentConfiguration?) throws -> Store {
        let context = CommandContext.current
        guard db == nil, context.environment["ERRWATCH_DB"] == nil, let path = configuration?.database else {
            return try openForReading()
        }
        var options = Store.Options()
        options.create = false
        return try Store.open(path: path, options: options)
    }
}
