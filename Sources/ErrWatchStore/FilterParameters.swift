import ErrWatchCore

/// A query's filters as a person writes them — on the command line (`--since 1h --status 5xx`)
/// or in an HTTP query string (`since=1h&status=5xx`) — before they are checked and turned
/// into a ``Filter``. One parser for both, so both accept and refuse the same things.
public struct FilterParameters: Sendable, Hashable {
    public var since: String?
    public var until: String?
    /// Comma lists: any of the values.
    public var app: String?
    public var endpoint: String?
    public var model: String?
    public var upstream: String?
    public var provider: String?
    public var host: String?
    /// HTTP statuses, `4xx`/`5xx` classes, or `0` for no response.
    public var status: String?
    public var type: String?
    public var code: String?
    /// ``Fault`` names.
    public var fault: String?
    /// `true` or `false` (errors only).
    public var retryable: String?
    /// A case-insensitive substring of the message (errors only).
    public var grep: String?

    /// No filters.
    public init() {}

    /// The filter, times read against `now`; `defaultSince` applies when `since` is absent.
    /// Error messages name each parameter as `prefix` + its name (`--since` or `since`).
    public func filter(now: Int64, defaultSince: String = "24h", prefix: String = "--") throws(ErrWatchError) -> Filter {
        var filter = Filter(
            since: try TimeArgument.parse(since ?? defaultSince, now: now, what: prefix + "since"),
            until: try TimeArgument.parse(until ?? "now", now: now, what: prefix + "until"))
        guard filter.since < filter.until else {
            throw ErrWatchError(.invalidArgument, "\(prefix)since (\(since ?? defaultSince)) must be before \(prefix)until (\(until ?? "now")).")
        }
        filter.apps = Self.list(app)
        filter.endpoints = Self.list(endpoint)
        filter.models = Self.list(model)
        filter.upstreams = Self.list(upstream)
        filter.providers = Self.list(provider)
        filter.hosts = Self.list(host)
        filter.types = Self.list(type)
        filter.codes = Self.list(code)
        filter.faults = Self.list(fault)
        if let unknown = filter.faults.first(where: { Fault(rawValue: $0) == nil }) {
            throw ErrWatchError(.invalidArgument, "Invalid \(prefix)fault '\(unknown)'; give any of: \(Fault.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        filter.statuses = try Self.statuses(status, name: prefix + "status")
        switch retryable {
        case nil: break
        case "true"?: filter.retryable = true
        case "false"?: filter.retryable = false
        case let other?:
            throw ErrWatchError(.invalidArgument, "Invalid \(prefix)retryable '\(other)'; give true or false.")
        }
        if let grep, grep.utf8.count > Self.maxGrepBytes {
            throw ErrWatchError(.invalidArgument,
                "\(prefix)grep is \(grep.utf8.count) bytes long; at most \(Self.maxGrepBytes) are searched for (a message is at most \(CallError.maxMessageLength) characters).")
        }
        filter.messageContains = grep.flatMap { $0.isEmpty ? nil : $0 }
        return filter
    }

    /// The longest `grep` accepted, in UTF-8 bytes: far below SQLite's LIKE pattern limit
    /// (50,000 bytes), and longer than any stored message could match anyway.
    public static let maxGrepBytes = 4_000

    static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { String($0.trimmingSpaces()) }.filter { !$0.isEmpty }
    }

    static func statuses(_ text: String?, name: String) throws(ErrWatchError) -> [Int] {
        var result: [Int] = []
        for token in list(text) {
            guard let statuses = StatusPattern.statuses(token) else {
                throw ErrWatchError(.invalidArgument, "Invalid \(name) '\(token)'; \(StatusPattern.advice).")
            }
            result += statuses
        }
        return result
    }
}
