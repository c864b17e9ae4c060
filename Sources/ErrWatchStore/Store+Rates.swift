import ErrWatchCore
import GRDB

/// Calls and errors of one group over a range: an alert rule's ``GroupCounts``, with the
/// group's values and its mean latency.
public struct RateRow: Sendable, Hashable {
    /// The group's value for each dimension grouped by, in the order asked.
    public var group: [String]
    public var counts: GroupCounts
    /// Mean latency of the calls that reported one, in milliseconds.
    public var meanLatencyMs: Double?
    /// Latency and time-to-first-token percentiles, when asked for (``Store/rates(_:by:timings:)``).
    public var timings: Timings?

    /// A group's duration percentiles, estimated from the histograms (nil without values).
    public struct Timings: Sendable, Hashable {
        public var p50LatencyMs: Double?
        public var p95LatencyMs: Double?
        /// Calls that streamed, and the percentiles of their time to first token.
        public var streams: Int64
        public var p50FirstTokenMs: Double?
        public var p95FirstTokenMs: Double?

        /// The percentiles of summed histogram columns: ``Timings/columns``, in order.
        init(sums: ArraySlice<Int64>) {
            let latency = Array(sums.prefix(Histogram.latency.count))
            let firstToken = Array(sums.dropFirst(Histogram.latency.count).prefix(Histogram.firstToken.count))
            p50LatencyMs = Histogram.latency.quantile(0.5, counts: latency)
            p95LatencyMs = Histogram.latency.quantile(0.95, counts: latency)
            streams = sums.last ?? 0
            p50FirstTokenMs = Histogram.firstToken.quantile(0.5, counts: firstToken)
            p95FirstTokenMs = Histogram.firstToken.quantile(0.95, counts: firstToken)
        }

        /// The count columns the percentiles are read from.
        static let columns = Histogram.latency.columns + Histogram.firstToken.columns + ["streamed_calls"]
    }

    public var calls: Int64 { counts.calls }
    public var errors: Int64 { counts.errors }
    /// errors / calls, or nil without calls.
    public var errorRate: Double? { counts.rate }
}

extension Store {
    /// Calls, errors and the error rate in `filter`'s range, per group of `dimensions`
    /// (one row in all when there are none), the most errors first.
    ///
    /// The rule alert rules follow (``SeriesGrouping``), one implementation for both: a status,
    /// type, code or fault — in the filter or the grouping — narrows the errors, never the calls. So
    /// `--by model,type` gives each type's errors over all of that model's calls, and
    /// `--type rate_limit_error` the share of all calls that were rate-limited.
    ///
    /// With `timings`, each row also has its latency and time-to-first-token percentiles.
    public func rates(_ filter: Filter, by dimensions: [Dimension], timings: Bool = false) throws -> [RateRow] {
        let extra = timings ? RateRow.Timings.columns : []
        let rows = try writer.read { db in try SeriesCounts.fetch(db, filter, sums: ["latency_calls", "latency_ms_sum"] + extra) }
        let scope = filter.scope
        let errorKeyed = dimensions.contains(where: \.isErrorSide)
        var latency: [[String]: (calls: Int64, sum: Int64)] = [:]
        var histograms: [[String]: [Int64]] = [:]
        // The durations of a group are those of the calls it shows: all of them, or its errors.
        for row in rows where scope.admitsCalls(of: row.series) && (!errorKeyed || scope.countsErrors(of: row.series)) {
            let group = dimensions.map(row.series.value)
            latency[group, default: (0, 0)].calls += row.sums[0]
            latency[group, default: (0, 0)].sum += row.sums[1]
            if timings {
                var sums = histograms[group] ?? Array(repeating: 0, count: extra.count)
                for index in sums.indices { sums[index] += row.sums[2 + index] }
                histograms[group] = sums
            }
        }
        var grouped = SeriesGrouping.group(rows.map(\.entry), scope: scope, groupBy: dimensions)
        // With no calls in range at all, one empty row for "all calls", as before.
        if dimensions.isEmpty, grouped.isEmpty { grouped[[]] = GroupCounts(calls: 0, errors: 0) }
        return grouped.map { group, counts in
            let mean = latency[group].flatMap { $0.calls > 0 ? Double($0.sum) / Double($0.calls) : nil }
            let percentiles = timings ? RateRow.Timings(sums: (histograms[group] ?? Array(repeating: 0, count: extra.count))[...]) : nil
            return RateRow(group: group, counts: counts, meanLatencyMs: mean, timings: percentiles)
        }
        .sorted { ($0.errors, $0.calls) != ($1.errors, $1.calls) ? ($0.errors, $0.calls) > ($1.errors, $1.calls) : $0.group.lexicographicallyPrecedes($1.group) }
    }

    /// The minutes the database holds calls for, first to last, or nil when it holds none.
    public func recordedRange() throws -> ClosedRange<Int64>? {
        try writer.read { db in
            // The finest table that holds anything says it best (rollups floor to the hour or day).
            for table in ["call_counts", "call_counts_hourly", "call_counts_daily"] {
                let row = try Row.fetchOne(db, sql: "SELECT min(bucket), max(bucket) FROM \(table)")
                if let first: Int64 = row?[0], let last: Int64 = row?[1] { return first...last }
            }
            return nil
        }
    }

    static func groupValue(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .int64(let number): String(number)
        case .string(let text): text
        default: ""
        }
    }
}

/// Calls per series in a filter's range — per bucket of `bucketMs` too, when given — with
/// the sums of more count columns: the rows every count by the rate rule (``SeriesGrouping``)
/// starts from.
struct SeriesCounts {
    /// The bucket's start (aligned to `bucketMs` since 1970), or 0 without buckets.
    var start: Int64
    var series: SeriesDimensions
    var calls: Int64
    /// The sum of each column asked for, in the order asked.
    var sums: [Int64]

    var entry: (SeriesDimensions, Int64) { (series, calls) }

    /// The columns every count row has; any other column asked for is selected as well.
    private static let countColumns: Set<String> = ["calls", "latency_calls", "latency_ms_sum"]

    /// The rows of `filter`'s range (its call side: see ``Filter/callSide``), by bucket start.
    static func fetch(_ db: Database, _ filter: Filter, bucketMs: Int64? = nil, sums columns: [String] = []) throws -> [SeriesCounts] {
        let counts = try CountsQuery(db, filter: filter.callSide, alignTo: bucketMs, extra: columns.filter { !countColumns.contains($0) })
        let dimensions = filter.callSide.dimensionConditions()
        // Summed per series (and bucket) first, on the counts tables alone, then joined to the
        // few series that result and filtered by their dimensions: a month of rows is grouped
        // on an integer, without carrying six texts through the sort (about 4x faster).
        let start = bucketMs.map { "bucket - (bucket % \($0))" } ?? "0"
        let rows = try Row.fetchAll(db, sql: """
            SELECT g.start, \(SeriesDimensions.columns(of: "s")), g.calls\(columns.indices.map { ", g.sum\($0)" }.joined())
            FROM (SELECT \(start) AS start, series, sum(calls) AS calls\(columns.enumerated().map { ", sum(\($1)) AS sum\($0)" }.joined())
                  FROM (\(counts.sql)) GROUP BY start, series) g
            JOIN series s ON s.id = g.series
            \(dimensions.sql.isEmpty ? "" : "WHERE " + dimensions.sql.joined(separator: " AND "))
            ORDER BY g.start
            """, arguments: counts.arguments + dimensions.arguments)
        return rows.map { row in
            SeriesCounts(
                start: row[0], series: SeriesDimensions(row, at: 1),
                calls: row[1 + SeriesDimensions.columnCount] ?? 0, sums: columns.indices.map { row[2 + SeriesDimensions.columnCount + $0] ?? 0 })
        }
    }
}

/// The call-count rows in a filter's range, read from the coarsest levels that cover it
/// (see ``Rollup/segments(since:until:hourlyUntil:dailyUntil:alignTo:minutesFrom:)``), as one subquery with
/// the columns `bucket`, `series`, `calls`, `latency_calls`, `latency_ms_sum` and the extra ones;
/// the series' dimensions are for the query around it to join and filter.
struct CountsQuery {
    var sql: String
    var arguments: StatementArguments

    /// `extra` names more count columns to select (such as the latency buckets).
    init(_ db: Database, filter: Filter, alignTo bucket: Int64? = nil, extra: [String] = []) throws {
        let extraColumns = extra.map { ", \($0)" }.joined()
        let marks = try Watermarks.read(db)
        let minutesFrom = try Int64.fetchOne(db.cachedStatement(sql: "SELECT before_ms FROM retention_horizons WHERE kind = 'minute_counts'"))
        let segments = Rollup.segments(
            since: filter.since, until: filter.until, hourlyUntil: marks.hourly, dailyUntil: marks.daily, alignTo: bucket,
            minutesFrom: minutesFrom ?? .min)
        var parts: [String] = []
        arguments = []
        for segment in segments {
            parts.append("""
                SELECT bucket, series, calls, latency_calls, latency_ms_sum\(extraColumns)
                FROM \(Watermarks.table(segment.level)) WHERE bucket >= ? AND bucket < ?
                """)
            arguments += [segment.from, segment.to]
        }
        if parts.isEmpty {
            parts.append("SELECT 0 AS bucket, 0 AS series, 0 AS calls, 0 AS latency_calls, 0 AS latency_ms_sum" + extra.map { ", 0 AS \($0)" }.joined() + " WHERE 0")
        }
        sql = parts.joined(separator: " UNION ALL ")
    }
}
