import ArgumentParser
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `--db`: where the database is. Flag, else `ERRWATCH_DB`, else `./errwatch.db`.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The database file (default: $ERRWATCH_DB, else ./errwatch.db).", valueName: "path"))
    var db: String?

    /// The default path when neither the flag nor the environment names one.
    static let defaultPath = "./errwatch.db"

    /// The path by precedence: flag > environment > default.
    func path(environment: [String: String]) -> String {
        if let db, !db.isEmpty { return db }
        if let fromEnvironment = environment["ERRWATCH_DB"], !fromEnvironment.isEmpty { return fromEnvironment }
        return Self.defaultPath
    }

    /// Opens the database to read: it must exist.
    func openForReading() throws -> Store {
        let path = path(environment: CommandContext.current.environment)
        var options = Store.Options()
        options.create = false
        return try Store.open(path: path, options: options)
    }

    /// Opens the database to write, creating it when missing. Outcomes that name no host are
    /// recorded under `ERRWATCH_HOST_NAME`, as the agent's are, else this machine's host name.
    func openForWriting() throws -> Store {
        let environment = CommandContext.current.environment
        var store = try Store.open(path: path(environment: environment))
        if let name = CommandContext.current.hostName { store.hostName = name }
        return store
    }
}

extension OutputFormat: ExpressibleByArgument {}

/// `--format table|json|csv`.
struct FormatOptions: ParsableArguments {
    @Option(help: "Output format: table, json or csv.")
    var format: OutputFormat = .table
}

/// `--since` and `--until` with the dimension filters: what `errors` and `trend` narrow by.
struct RangeFilterOptions: ParsableArguments {
    @OptionGroup var dimensions: DimensionFilterOptions

    @Option(help: ArgumentHelp("Start: a span back from now (30m, 24h, 7d) or an ISO-8601 time.", valueName: "time"))
    var since = "24h"
    @Option(help: ArgumentHelp("End (exclusive): 'now', a span back from now, or an ISO-8601 time.", valueName: "time"))
    var until = "now"

    /// The parameters these options carry.
    var parameters: FilterParameters {
        var parameters = dimensions.parameters
        parameters.since = since
        parameters.until = until
        return parameters
    }
}

/// The dimension filters shared by `errors`, `rates` and `trend`.
struct DimensionFilterOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only these apps (comma list).", valueName: "names"))
    var app: String?
    @Option(help: ArgumentHelp("Only these endpoints, e.g. chat/completions (comma list).", valueName: "routes"))
    var endpoint: String?
    @Option(help: ArgumentHelp("Only these models (comma list).", valueName: "ids"))
    var model: String?
    @Option(help: ArgumentHelp("Only calls to these upstreams, by the agent's names for them (comma list).", valueName: "names"))
    var upstream: String?
    @Option(help: ArgumentHelp("Only these providers, e.g. openai (comma list).", valueName: "names"))
    var provider: String?
    @Option(help: ArgumentHelp("Only calls recorded by these hosts (comma list; a merged fleet file has several).", valueName: "names"))
    var host: String?
    @Option(help: ArgumentHelp("Only these HTTP statuses: 429, 5xx, 0 for no response (comma list).", valueName: "codes"))
    var status: String?
    @Option(help: ArgumentHelp("Only these error types, e.g. rate_limit_error (comma list).", valueName: "types"))
    var type: String?
    @Option(help: ArgumentHelp("Only these error codes, e.g. rate_limit_exceeded (comma list).", valueName: "codes"))
    var code: String?
    @Option(help: ArgumentHelp("Only errors of these faults: caller, provider, network, errwatch (comma list).", valueName: "faults"))
    var fault: String?

    /// The parameters these options carry.
    var parameters: FilterParameters {
        var parameters = FilterParameters()
        parameters.app = app
        parameters.endpoint = endpoint
        parameters.model = model
        parameters.upstream = upstream
        parameters.provider = provider
        parameters.host = host
        parameters.status = status
        parameters.type = type
        parameters.code = code
        parameters.fault = fault
        return parameters
    }
}

/// Builds a filter, turning a bad value into a usage error.
func makeFilter(_ parameters: FilterParameters, now: Int64) throws -> Filter {
    do {
        return try parameters.filter(now: now)
    } catch {
        throw ValidationError(error)
    }
}

extension ValidationError {
    /// A validation error carrying an ``ErrWatchError``'s message.
    init(_ error: ErrWatchError) { self.init(error.message) }
}

/// Parses a time option, turning a bad value into a usage error.
func parseTime(_ text: String, option: String, now: Int64) throws -> Int64 {
    do {
        return try TimeArgument.parse(text, now: now, what: option)
    } catch {
        throw ValidationError(error)
    }
}

/// Parses a duration option, turning a bad value into a usage error.
func parseDuration(_ text: String, option: String) throws -> Int64 {
    do {
        return try DurationText.parse(text, what: option)
    } catch {
        throw ValidationError(error)
    }
}

/// A hint for a range with no calls in it: what the database does hold, and the option that
/// reaches it (a sample file is dated; a fresh database is empty).
func noCallsHint(_ store: Store, since: Int64, until: Int64, withSince: Bool = false) throws -> String {
    let range = "No calls recorded from \(Timestamp.iso8601(since)) to \(Timestamp.iso8601(until))"
    guard let held = try store.recordedRange() else {
        return range + "; the database holds no calls yet (record some with errwatch agent or errwatch ingest)."
    }
    let reach = (withSince ? "--since \(Timestamp.iso8601(held.lowerBound)) " : "") + "--until \(Timestamp.iso8601(held.upperBound + Timestamp.minute))"
    return range + "; it holds calls from \(Timestamp.iso8601(held.lowerBound)) to \(Timestamp.iso8601(held.upperBound)): try \(reach)."
}

/// A command's discussion as ArgumentParser wraps it: the lines of each paragraph joined, so
/// that the help screen wraps them once, at the terminal's width, instead of a second time
/// over the source's own line breaks (orphan words). Indented lines (examples) and the line
/// after a line ending in `:` keep their breaks.
func helpText(_ text: String) -> String {
    var paragraphs: [String] = []
    var current = ""
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let verbatim = line.hasPrefix(" ") || current.hasSuffix(":") || current.isEmpty
        if line.isEmpty {
            paragraphs.append(current)
            current = ""
        } else if verbatim {
            current += (current.isEmpty ? "" : "\n") + line
        } else {
            current += " " + line
        }
    }
    paragraphs.append(current)
    return paragraphs.filter { !$0.isEmpty }.joined(separator: "\n\n")
}
