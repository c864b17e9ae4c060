/// The dimensions calls are counted under: one series of counts.
public struct SeriesDimensions: Sendable, Hashable {
    public var app: String
    public var endpoint: String
    public var model: String
    public var status: Int
    /// Empty for successes.
    public var type: String
    public var code: String

    /// A series with every dimension given.
    public init(app: String, endpoint: String, model: String, status: Int, type: String, code: String) {
        self.app = app
        self.endpoint = endpoint
        self.model = model
        self.status = status
        self.type = type
        self.code = code
    }

    /// The value of one dimension, as groups are keyed.
    public func value(_ dimension: Dimension) -> String {
        switch dimension {
        case .app: app
        case .endpoint: endpoint
        case .model: model
        case .status: String(status)
        case .type: type
        case .code: code
        case .fault: Fault.label(type: type, code: code)
        }
    }
}

extension RuleScope {
    /// Whether calls of `series` are among the calls the scope looks at (app, endpoint, model).
    /// `endpoints` must be normalised already (``normalized``).
    public func admitsCalls(of series: SeriesDimensions) -> Bool {
        (apps.isEmpty || apps.contains(series.app))
            && (endpoints.isEmpty || endpoints.contains(series.endpoint))
            && (models.isEmpty || models.contains(series.model))
    }

    /// Whether calls of `series` are errors the scope counts (status, type, code, fault).
    public func countsErrors(of series: SeriesDimensions) -> Bool {
        !series.type.isEmpty
            && (statuses.isEmpty || statuses.contains(series.status))
            && (types.isEmpty || types.contains(series.type))
            && (codes.isEmpty || codes.contains(series.code))
            && (faults.isEmpty || faults.contains(series.value(.fault)))
    }

    /// The scope with its endpoints normalised like recorded ones, so `/v1/chat/completions` matches.
    public var normalized: RuleScope {
        var scope = self
        scope.endpoints = endpoints.map(Endpoint.normalize)
        return scope
    }
}

/// Turns calls per series into calls and errors per rule group, with the semantics of
/// ``AlertCountSource``: errors per full group, calls per its app/endpoint/model part.
public enum SeriesGrouping {
    /// Per group of `groupBy`, from `(series, calls)` pairs (a series may appear more than once).
    public static func group(_ entries: some Sequence<(SeriesDimensions, Int64)>, scope: RuleScope, groupBy: [Dimension]) -> [[String]: GroupCounts] {
        let scope = scope.normalized
        let callSide = groupBy.indices.filter { [.app, .endpoint, .model].contains(groupBy[$0]) }
        let errorKeyed = groupBy.contains(where: \.isErrorSide)
        var calls: [[String]: Int64] = [:]
        var result: [[String]: GroupCounts] = [:]
        for (series, count) in entries where count > 0 && scope.admitsCalls(of: series) {
            let group = groupBy.map(series.value)
            calls[callSide.map { group[$0] }, default: 0] += count
            let isError = scope.countsErrors(of: series)
            if isError || !errorKeyed {
                result[group, default: GroupCounts(calls: 0, errors: 0)].errors += isError ? count : 0
            }
        }
        for group in result.keys {
            result[group]!.calls = calls[callSide.map { group[$0] }] ?? 0
        }
        return result
    }
}
