import ErrWatchCore
import GRDB

/// The error rate of one group over time, and where it is heading.
public struct TrendSeries: Sendable {
    /// One bucket of the series.
    public struct Point: Sendable, Hashable {
        /// The bucket's start, UTC milliseconds.
        public var start: Int64
        public var calls: Int64
        public var errors: Int64
        /// errors / calls, or nil without calls.
        public var errorRate: Double? { calls > 0 ? Double(errors) / Double(calls) : nil }
    }

    /// The group's value for each dimension grouped by.
    public var group: [String]
    /// Every bucket of the range, empty ones included, oldest first.
    public var points: [Point]
    /// The summary: rate, change against the previous period, slope, direction.
    public var trend: Trend
}

extension Store {
    /// The calls, errors and error rate per `bucketMs` bucket over `filter`'s range, per group
    /// of `dimensions`, each with its change against the previous period of the same length
    /// and its fitted slope. Buckets align to multiples of `bucketMs` since 1970 (UTC), so the
    /// first and last may be partly outside the range; only the range is counted.
    ///
    /// Counted by the rule of ``rates(_:by:)``: a status, type, code or fault narrows the
    /// errors, never the calls.
    public func trend(_ filter: Filter, bucketMs: Int64, by dimensions: [Dimension]) throws -> [TrendSeries] {
        precondition(bucketMs > 0 && bucketMs % Timestamp.minute == 0, "buckets are whole minutes")
        let length = filter.until - filter.since
        var previous = filter
        previous.since = filter.since - length
        previous.until = filter.since

        let (current, before) = try writer.read { db in
            (try SeriesCounts.fetch(db, filter, bucketMs: bucketMs), try SeriesCounts.fetch(db, previous))
        }
        let scope = filter.scope
        let previousTotals = SeriesGrouping.group(before.map(\.entry), scope: scope, groupBy: dimensions)
        var buckets: [[String]: [Int64: (calls: Int64, errors: Int64)]] = [:]
        for (start, rows) in Dictionary(grouping: current, by: \.start) {
            for (group, counts) in SeriesGrouping.group(rows.map(\.entry), scope: scope, groupBy: dimensions) {
                buckets[group, default: [:]][start] = (counts.calls, counts.errors)
            }
        }
        if dimensions.isEmpty, buckets.isEmpty { buckets[[]] = [:] }

        let firstStart = Timestamp.floor(Rollup.ceil(filter.since, to: Timestamp.minute), to: bucketMs)
        let starts = Array(stride(from: firstStart, to: filter.until, by: Int(bucketMs)))
        return buckets.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { key in
            let values = buckets[key]!
            let points = starts.map { start in
                let value = values[start] ?? (0, 0)
                return TrendSeries.Point(start: start, calls: value.calls, errors: value.errors)
            }
            let totals = previousTotals[key] ?? GroupCounts(calls: 0, errors: 0)
            let trend = Trend.summarize(
                series: points.map { ($0.start, $0.calls, $0.errors) }, bucketMs: bucketMs,
                previousCalls: totals.calls, previousErrors: totals.errors)
            return TrendSeries(group: key, points: points, trend: trend)
        }
    }
}
