/// Recorded minute counts held in memory for replaying rules over the past: every window sum
/// is two binary searches per group, so replaying a week minute by minute takes seconds.
public final class ReplaySource: AlertCountSource {
    /// One minute row of one series.
    public struct Row: Sendable, Hashable {
        public var bucket: Int64
        public var series: SeriesDimensions
        public var calls: Int64
        /// The calls per latency bucket (``Histogram/latency``), empty when not known.
        public var latency: [Int64]
        /// The streams per time-to-first-token bucket (``Histogram/firstToken``), empty when not known.
        public var firstToken: [Int64]

        /// A row with every field given.
        public init(bucket: Int64, app: String, endpoint: String, model: String, upstream: String = "", provider: String = "", host: String = "",
                    status: Int, type: String, code: String, calls: Int64, latency: [Int64] = [], firstToken: [Int64] = []) {
            self.init(bucket: bucket, series: SeriesDimensions(app: app, endpoint: endpoint, model: model, upstream: upstream, provider: provider,
                                                               host: host, status: status, type: type, code: code),
                      calls: calls, latency: latency, firstToken: firstToken)
        }

        /// A row of `series`.
        public init(bucket: Int64, series: SeriesDimensions, calls: Int64, latency: [Int64] = [], firstToken: [Int64] = []) {
            self.bucket = bucket
            self.series = series
            self.calls = calls
            self.latency = latency
            self.firstToken = firstToken
        }

        /// The histogram of `timing`.
        func histogram(_ timing: Timing) -> [Int64] {
            timing == .latency ? latency : firstToken
        }
    }

    /// Running totals of one group: bucket starts, ascending, and the sum up to and including each.
    private struct Cumulative {
        var buckets: [Int64] = []
        var totals: [Int64] = []

        mutating func add(_ bucket: Int64, _ count: Int64) {
            if buckets.last == bucket {
                totals[totals.count - 1] += count
            } else {
                buckets.append(bucket)
                totals.append((totals.last ?? 0) + count)
            }
        }

        /// The sum over buckets starting in `[from, to)`.
        func sum(from: Int64, to: Int64) -> Int64 {
            total(before: to) - total(before: from)
        }

        private func total(before time: Int64) -> Int64 {
            var low = 0, high = buckets.count
            while low < high {
                let middle = (low + high) / 2
                if buckets[middle] < time { low = middle + 1 } else { high = middle }
            }
            return low == 0 ? 0 : totals[low - 1]
        }
    }

    private struct Signature: Hashable {
        var scope: RuleScope
        var groupBy: [Dimension]
        var timing = Timing.latency
    }

    private struct Index {
        var calls: [[String]: Cumulative] = [:]
        var errors: [[String]: Cumulative] = [:]
        var callSide: [Int]
        var errorKeyed: Bool
    }

    private let rows: [Row]
    private var indexes: [Signature: Index] = [:]
    /// Per signature (and timing) and group, running totals of each histogram bucket.
    private var latencyIndexes: [Signature: [[String]: [Cumulative]]] = [:]

    /// The rows to replay, in any order.
    public init(rows: [Row]) {
        self.rows = rows.sorted { $0.bucket < $1.bucket }
    }

    public func counts(scope: RuleScope, groupBy: [Dimension], from: Int64, to: Int64) throws -> [[String]: GroupCounts] {
        let signature = Signature(scope: scope, groupBy: groupBy)
        let index = indexes[signature] ?? build(signature)
        indexes[signature] = index
        var result: [[String]: GroupCounts] = [:]
        let groups = index.errorKeyed ? Array(index.errors.keys) : Array(index.calls.keys)
        for group in groups {
            let errors = index.errors[group]?.sum(from: from, to: to) ?? 0
            let calls = index.calls[index.callSide.map { group[$0] }]?.sum(from: from, to: to) ?? 0
            if index.errorKeyed ? errors > 0 : calls > 0 {
                result[group] = GroupCounts(calls: calls, errors: errors)
            }
        }
        return result
    }

    public func latencies(_ timing: Timing, scope: RuleScope, groupBy: [Dimension], from: Int64, to: Int64) throws -> [[String]: [Int64]] {
        let signature = Signature(scope: scope, groupBy: groupBy, timing: timing)
        let index = latencyIndexes[signature] ?? buildLatencies(signature)
        latencyIndexes[signature] = index
        var result: [[String]: [Int64]] = [:]
        for (group, buckets) in index {
            let counts = buckets.map { $0.sum(from: from, to: to) }
            if counts.contains(where: { $0 > 0 }) { result[group] = counts }
        }
        return result
    }

    /// From the durations recorded at each call's start, spread evenly over their buckets as
    /// latency percentiles are: of the calls of minute `b` whose durations fell in `(lower,
    /// upper]`, the share `(upper − age) / (upper − lower)` was still in flight at `now`, `age`
    /// being `now − b`; those are hanging once `age` reaches `olderThan`. The overflow bucket
    /// (over the last bound) is taken to end at twice that bound.
    public func inflight(scope: RuleScope, groupBy: [Dimension], olderThan: Int64, at now: Int64) throws -> [[String]: GroupCounts] {
        let scope = scope.normalized
        let lowers = [0] + Histogram.latency.bounds
        let uppers = Histogram.latency.bounds + [2 * (Histogram.latency.bounds.last ?? 0)]
        var open: [[String]: (calls: Double, hanging: Double)] = [:]
        var low = 0, high = rows.count
        while low < high {
            let middle = (low + high) / 2
            if rows[middle].bucket <= now - (uppers.last ?? 0) { low = middle + 1 } else { high = middle }
        }
        for row in rows[low...] {
            guard row.bucket <= now else { break }
            guard !row.latency.isEmpty, scope.admitsCalls(of: row.series) else { continue }
            let age = Double(now - row.bucket)
            var still = 0.0
            for (bucket, count) in row.latency.enumerated() where count > 0 && bucket < uppers.count {
                let (lower, upper) = (Double(lowers[bucket]), Double(uppers[bucket]))
                still += Double(count) * min(1, max(0, (upper - age) / (upper - lower)))
            }
            guard still > 0 else { continue }
            let group = groupBy.map(row.series.value)
            open[group, default: (0, 0)].calls += still
            if now - row.bucket >= olderThan { open[group]!.hanging += still }
        }
        var result: [[String]: GroupCounts] = [:]
        for (group, counts) in open where counts.calls.rounded() > 0 {
            result[group] = GroupCounts(calls: Int64(counts.calls.rounded()), errors: Int64(counts.hanging.rounded()))
        }
        return result
    }

    private func buildLatencies(_ signature: Signature) -> [[String]: [Cumulative]] {
        let scope = signature.scope.normalized
        var index: [[String]: [Cumulative]] = [:]
        for row in rows where !row.histogram(signature.timing).isEmpty && SeriesGrouping.timed(row.series, scope: scope) {
            let group = signature.groupBy.map(row.series.value)
            var buckets = index[group] ?? Array(repeating: Cumulative(), count: signature.timing.histogram.count)
            for (bucket, count) in row.histogram(signature.timing).enumerated() where bucket < buckets.count { buckets[bucket].add(row.bucket, count) }
            index[group] = buckets
        }
        return index
    }

    private func build(_ signature: Signature) -> Index {
        let scope = signature.scope.normalized
        let groupBy = signature.groupBy
        let callSide = groupBy.indices.filter { Dimension.callSide.contains(groupBy[$0]) }
        var index = Index(callSide: callSide, errorKeyed: groupBy.contains(where: \.isErrorSide))
        for row in rows {
            let series = row.series
            guard scope.admitsCalls(of: series) else { continue }
            let group = groupBy.map(series.value)
            index.calls[callSide.map { group[$0] }, default: Cumulative()].add(row.bucket, row.calls)
            if scope.countsErrors(of: series) {
                index.errors[group, default: Cumulative()].add(row.bucket, row.calls)
            } else if !index.errorKeyed {
                index.errors[group, default: Cumulative()].add(row.bucket, 0)
            }
        }
        return index
    }
}
