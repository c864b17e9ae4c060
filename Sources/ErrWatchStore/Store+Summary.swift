import ErrWatchCore
import GRDB

/// One bucket and group of the rates export: calls, and errors per type.
public struct TypedRateRow: Sendable {
    public var bucket: Int64
    public var group: [String]
    public var calls: Int64
    public var errorsByType: [String: Int64]
}

/// The errors of one error code.
public struct CodeCount: Sendable, Hashable {
    public var type: String
    public var code: String
    public var errors: Int64
}

/// One group of the summary export.
public struct SummaryRow: Sendable, Hashable {
    public var group: [String]
    public var calls: Int64
    public var errors: Int64
    public var retryableErrors: Int64
    /// The three codes with the most errors, most first.
    public var topCodes: [CodeCount]
    public var p50LatencyMs: Double?
    public var p95LatencyMs: Double?
    public var previousCalls: Int64
    public var previousErrors: Int64
}

extension Store {
    /// The error types recorded (or those of `only`, when given), sorted.
    public func errorTypes(among only: [String]) throws -> [String] {
        let all = try writer.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT type FROM series WHERE type <> '' ORDER BY type") }
        return only.isEmpty ? all : all.filter(only.contains)
    }

    /// Calls and errors per type, per bucket of `bucketMs` (aligned since 1970) and group, by
    /// the rule of ``rates(_:by:)``: a status, type or code narrows the errors, not the calls.
    public func ratesByType(_ filter: Filter, bucketMs: Int64, by dimensions: [Dimension]) throws -> [TypedRateRow] {
        let rows = try writer.read { db in try SeriesCounts.fetch(db, filter, bucketMs: bucketMs) }
        let scope = filter.scope
        var result: [TypedRateRow] = []
        for (bucket, rows) in Dictionary(grouping: rows, by: \.start).sorted(by: { $0.key < $1.key }) {
            var byType: [[String]: [String: Int64]] = [:]
            for row in rows where scope.admitsCalls(of: row.series) && scope.countsErrors(of: row.series) {
                byType[dimensions.map(row.series.value), default: [:]][row.series.type, default: 0] += row.calls
            }
            for (group, counts) in SeriesGrouping.group(rows.map(\.entry), scope: scope, groupBy: dimensions).sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                result.append(TypedRateRow(bucket: bucket, group: group, calls: counts.calls, errorsByType: byType[group] ?? [:]))
            }
        }
        return result
    }

    /// Per group: calls, errors, retryable errors, top codes and latency percentiles over
    /// `filter`'s range, and calls and errors over the previous period of the same length.
    /// Most errors first.
    ///
    /// Counted by the rule of ``rates(_:by:)``: a status, type, code or fault narrows the
    /// errors, never the calls.
    public func summary(_ filter: Filter, by dimensions: [Dimension]) throws -> [SummaryRow] {
        var previous = filter
        previous.since = filter.since - (filter.until - filter.since)
        previous.until = filter.since
        let (current, before) = try writer.read { db in
            (try SeriesCounts.fetch(db, filter, sums: Histogram.latency.columns), try SeriesCounts.fetch(db, previous))
        }
        struct Totals {
            var calls: Int64 = 0, errors: Int64 = 0, retryable: Int64 = 0
            var buckets = [Int64](repeating: 0, count: Histogram.latency.columns.count)
            var codes: [String: CodeCount] = [:]
        }
        let scope = filter.scope
        let errorKeyed = dimensions.contains(where: \.isErrorSide)
        // Calls and errors per group by the one rule; latency, retryable errors and codes of the
        // calls each group shows (all of them, or its errors when grouped by an error dimension).
        let counted = SeriesGrouping.group(current.map(\.entry), scope: scope, groupBy: dimensions)
        var totals: [[String]: Totals] = [:]
        for row in current {
            let series = row.series, calls = row.calls
            let isError = scope.admitsCalls(of: series) && scope.countsErrors(of: series)
            guard scope.admitsCalls(of: series), isError || !errorKeyed else { continue }
            let group = dimensions.map(series.value)
            var entry = totals[group] ?? Totals()
            for index in entry.buckets.indices { entry.buckets[index] += row.sums[index] }
            if isError {
                if Classifier.retryable(status: series.status == 0 ? nil : series.status, type: ErrorType(rawValue: series.type)) { entry.retryable += calls }
                entry.codes["\(series.type)/\(series.code)", default: CodeCount(type: series.type, code: series.code, errors: 0)].errors += calls
            }
            totals[group] = entry
        }
        for (group, counts) in counted {
            totals[group, default: Totals()].calls = counts.calls
            totals[group, default: Totals()].errors = counts.errors
        }
        let previousTotals = SeriesGrouping.group(before.map(\.entry), scope: scope, groupBy: dimensions)
            .mapValues { ($0.calls, $0.errors) }
        return totals.map { group, entry in
            let top = entry.codes.values.sorted { ($0.errors, $1.code) > ($1.errors, $0.code) }.prefix(3)
            return SummaryRow(
                group: group, calls: entry.calls, errors: entry.errors, retryableErrors: entry.retryable, topCodes: Array(top),
                p50LatencyMs: Histogram.latency.quantile(0.5, counts: entry.buckets),
                p95LatencyMs: Histogram.latency.quantile(0.95, counts: entry.buckets),
                previousCalls: previousTotals[group]?.0 ?? 0, previousErrors: previousTotals[group]?.1 ?? 0)
        }.sorted { ($0.errors, $0.calls, $1.group.joined(separator: "\u{1}")) > ($1.errors, $1.calls, $0.group.joined(separator: "\u{1}")) }
    }
}
