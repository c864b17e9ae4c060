/// The dimensions calls are counted under: one series of counts, as the store writes it (one
/// row of its `series` table) and as rules and queries read it.
public struct SeriesDimensions: Sendable, Hashable {
    public var app: String
    public var endpoint: String
    public var model: String
    /// The upstream the calls went to (the agent's name for it); empty when unknown.
    public var upstream: String
    /// The provider called (``Provider``); empty when unknown.
    public var provider: String
    /// The name of the agent that recorded the calls; empty when unknown.
    public var host: String
    public var status: Int
    /// Empty for successes.
    public var type: String
    public var code: String

    /// A series with every dimension given.
    public init(app: String, endpoint: String, model: String, upstream: String = "", provider: String = "", host: String = "",
                status: Int, type: String, code: String) {
        self.app = app
        self.endpoint = endpoint
        self.model = model
        self.upstream = upstream
        self.provider = provider
        self.host = host
        self.status = status
        self.type = type
        self.code = code
    }

    /// Mixes the status with the length and edge bytes of each string, not every byte: this
    /// runs once per recorded outcome, and full string hashing was a third of the recording
    /// cost. Series that collide are still told apart by `==`, and the series hashed together
    /// (one batch, one database's series) are few, so collisions cost little.
    @inlinable
    public var cheapHash: UInt64 {
        var mixed = UInt64(bitPattern: Int64(status)) &+ 0xCBF2_9CE4_8422_2325
        mixed = Self.mix(mixed, app)
        mixed = Self.mix(mixed, endpoint)
        mixed = Self.mix(mixed, model)
        mixed = Self.mix(mixed, upstream)
        mixed = Self.mix(mixed, provider)
        mixed = Self.mix(mixed, host)
        mixed = Self.mix(mixed, type)
        mixed = Self.mix(mixed, code)
        return mixed
    }

    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(cheapHash)
    }

    @usableFromInline @inline(__always)
    static func mix(_ seed: UInt64, _ text: String) -> UInt64 {
        let bytes = text.utf8
        var value = (seed &* 0x100_0000_01B3) ^ UInt64(bytes.count)
        if let first = bytes.first, let last = bytes.last {
            value = (value &* 0x100_0000_01B3) ^ (UInt64(first) << 8 | UInt64(last))
        }
        return value
    }

    /// The value of one dimension, as groups are keyed.
    public func value(_ dimension: Dimension) -> String {
        switch dimension {
        case .app: app
        case .endpoint: endpoint
        case .model: model
        case .upstream: upstream
        case .provider: provider
        case .host: host
        case .status: String(status)
        case .type: type
        case .code: code
        case .fault: Fault.label(type: type, code: code)
        }
    }
}

extension RuleScope {
    /// Whether calls of `series` are among the calls the scope looks at (``Dimension/callSide``).
    /// `endpoints` must be normalised already (``normalized``).
    public func admitsCalls(of series: SeriesDimensions) -> Bool {
        (apps.isEmpty || apps.contains(series.app))
            && (endpoints.isEmpty || endpoints.contains(series.endpoint))
            && (models.isEmpty || models.contains(series.model))
            && (upstreams.isEmpty || upstreams.contains(series.upstream))
            && (providers.isEmpty || providers.contains(series.provider))
            && (hosts.isEmpty || hosts.contains(series.host))
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
/// ``AlertCountSource``: errors per full group, calls per its call-side part (``Dimension/callSide``).
public enum SeriesGrouping {
    /// Per group of `groupBy`, from `(series, calls)` pairs (a series may appear more than once).
    public static func group(_ entries: some Sequence<(SeriesDimensions, Int64)>, scope: RuleScope, groupBy: [Dimension]) -> [[String]: GroupCounts] {
        let scope = scope.normalized
        let callSide = groupBy.indices.filter { Dimension.callSide.contains(groupBy[$0]) }
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

    /// Per group of `groupBy`, the latency histograms of `(series, histogram)` pairs summed
    /// bucket by bucket, over the series ``timed(_:scope:)`` admits.
    public static func histograms(_ entries: some Sequence<(SeriesDimensions, [Int64])>, scope: RuleScope, groupBy: [Dimension]) -> [[String]: [Int64]] {
        let scope = scope.normalized
        var result: [[String]: [Int64]] = [:]
        for (series, counts) in entries where timed(series, scope: scope) {
            let group = groupBy.map(series.value)
            var sum = result[group] ?? Array(repeating: 0, count: counts.count)
            for index in counts.indices where index < sum.count { sum[index] += counts[index] }
            result[group] = sum
        }
        return result.filter { $0.value.contains { $0 > 0 } }
    }

    /// Whether a series' durations count for a latency rule in `scope` (normalised): its calls
    /// are in scope and, when the scope narrows the errors, it is one of those errors.
    public static func timed(_ series: SeriesDimensions, scope: RuleScope) -> Bool {
        scope.admitsCalls(of: series) && (!scope.narrowsErrors || scope.countsErrors(of: series))
    }

    /// Per group of `groupBy`, the calls of `inflight` in `scope` and those among them begun at
    /// least `olderThan` before `now`.
    public static func inflight(_ inflight: [InflightCall], scope: RuleScope, groupBy: [Dimension], olderThan: Int64, at now: Int64) -> [[String]: GroupCounts] {
        let scope = scope.normalized
        var result: [[String]: GroupCounts] = [:]
        for call in inflight where scope.admitsCalls(of: call.series) {
            let group = groupBy.map(call.series.value)
            result[group, default: GroupCounts(calls: 0, errors: 0)].calls += 1
            if now - call.startedAt >= olderThan { result[group]!.errors += 1 }
        }
        return result
    }
}
