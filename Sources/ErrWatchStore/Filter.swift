import ErrWatchCore
import GRDB

/// What a query narrows outcomes to: a time range and, per dimension, the values to keep —
/// the same ``RuleScope`` an alert rule's `where` is, so the CLI, the API, exports and alert
/// rules narrow alike (app, endpoint and model narrow the calls; status, type, code and fault
/// narrow only the errors counted among them). Each list is "any of"; different fields must
/// all hold. Empty lists keep everything.
public struct Filter: Sendable, Hashable {
    /// Start of the range, inclusive, UTC milliseconds.
    public var since: Int64
    /// End of the range, exclusive, UTC milliseconds.
    public var until: Int64
    /// The dimensions' values to keep.
    public var scope = RuleScope()
    public var apps: [String] { get { scope.apps } set { scope.apps = newValue } }
    /// Routes; values are normalised like recorded endpoints, so `/v1/chat/completions` matches.
    public var endpoints: [String] { get { scope.endpoints } set { scope.endpoints = newValue } }
    public var models: [String] { get { scope.models } set { scope.models = newValue } }
    public var upstreams: [String] { get { scope.upstreams } set { scope.upstreams = newValue } }
    public var providers: [String] { get { scope.providers } set { scope.providers = newValue } }
    public var hosts: [String] { get { scope.hosts } set { scope.hosts = newValue } }
    /// HTTP statuses; 0 is "no response".
    public var statuses: [Int] { get { scope.statuses } set { scope.statuses = newValue } }
    public var types: [String] { get { scope.types } set { scope.types = newValue } }
    public var codes: [String] { get { scope.codes } set { scope.codes = newValue } }
    /// ``Fault`` names; like types, they narrow the errors.
    public var faults: [String] { get { scope.faults } set { scope.faults = newValue } }
    /// Error events only: keep retryable (true) or non-retryable (false) errors.
    public var retryable: Bool?
    /// Error events only: a case-insensitive substring of the message.
    public var messageContains: String?

    /// Everything in `[since, until)`.
    public init(since: Int64, until: Int64) {
        self.since = since
        self.until = until
    }

    /// The filter on the calls only: status, type and code narrow the errors, not the calls
    /// (the rule of ``rates(_:by:)`` and of alert rules).
    var callSide: Filter {
        var filter = self
        filter.scope = scope.callSide
        return filter
    }

    /// The fault of a row as SQL over its `type` and `code` columns (``Fault/of(type:code:)``),
    /// empty for successes: for filtering and grouping by fault in the database.
    static let faultSQL: String = {
        let list = { (types: [ErrorType]) in types.map { "'\($0.rawValue)'" }.joined(separator: ", ") }
        let codes = Fault.errwatchCodes.sorted().map { "'\($0)'" }.joined(separator: ", ")
        return "(CASE WHEN type = '' THEN '' WHEN code IN (\(codes)) THEN 'errwatch' "
            + "WHEN type IN (\(list(Fault.callerTypes))) THEN 'caller' WHEN type IN (\(list(Fault.networkTypes))) THEN 'network' "
            + "ELSE 'provider' END)"
    }()

    /// The conditions on the dimension columns, for the events and the counts tables alike.
    func dimensionConditions() -> (sql: [String], arguments: StatementArguments) {
        var conditions: [String] = []
        var arguments = StatementArguments()
        func any(_ column: String, _ values: [some DatabaseValueConvertible]) {
            guard !values.isEmpty else { return }
            conditions.append("\(column) IN (\(Array(repeating: "?", count: values.count).joined(separator: ", ")))")
            arguments += StatementArguments(values)
        }
        any("app", apps)
        any("endpoint", endpoints.map(Endpoint.normalize))
        any("model", models)
        any("upstream", upstreams)
        any("provider", providers)
        any("host", hosts)
        any("status", statuses)
        any("type", types)
        any("code", codes)
        any(Self.faultSQL, faults)
        return (conditions, arguments)
    }
}
