import ErrWatchCore
import GRDB

/// Calls and errors of one group over a range.
public struct RateRow: Sendable, Hashable {
    /// The group's value for each dimension grouped by, in the order asked.
    public var group: [String]
    public var calls: Int64
    public var errors: Int64
    /// Mean latency of the calls that reported one, in milliseconds.
    public var meanLatencyMs: Double?

    /// errors / calls, or nil without calls.
    public var errorRate: Double? { calls > 0 ? Double(errors) / Double(calls) : nil }
}

extension Store {
    /// Calls, errors and the error rate in `filter`'s range, per group of `dimensions`
    /// (one row in all when there are none), the most errors first.
    public func rates(_ filter: Filter, by dimensions: [Dimension]) throws -> [RateRow] {
        let groups = dimensions.map(\.rawValue)
        let select = (groups + ["sum(calls)", "sum(CASE WHEN type <> '' THEN calls ELSE 0 END)", "sum(latency_calls)", "sum(latency_ms_sum)"])
            .joined(separator: ", ")
        let groupBy = groups.isEmpty ? "" : "GROUP BY \(groups.joined(separator: ", "))"
        return try writer.read { db in
            let counts = try CountsQuery(db, filter: filter)
            // Most errors first, then most calls, then by group so the order is stable.
            let order = ["\(groups.count + 2) DESC", "\(groups.count + 1) DESC"] + groups
            let sql = "SELECT \(select) FROM (\(counts.sql)) \(groupBy) ORDER BY \(order.joined(separator: ", "))"
            return try Row.fetchAll(db, sql: sql, arguments: counts.arguments).map { row in
                let calls: Int64 = row[groups.count] ?? 0
                let latencyCalls: Int64 = row[groups.count + 2] ?? 0
                let latencySum: Int64 = row[groups.count + 3] ?? 0
                return RateRow(
                    group: (0..<groups.count).map { Self.groupValue(row[$0]) },
                    calls: calls, errors: row[groups.count + 1] ?? 0,
                    meanLatencyMs: latencyCalls > 0 ? Double(latencySum) / Double(latencyCalls) : nil)
            }
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

/// The call-count rows in a filter's range, read from the coarsest levels that cover it
/// (see ``Rollup/segments(since:until:hourlyUntil:dailyUntil:alignTo:)``), as one subquery
/// with the columns of `call_counts`.
struct CountsQuery {
    var sql: String
    var arguments: StatementArguments

    /// `extra` names more count columns to select (such as the latency buckets).
    init(_ db: Database, filter: Filter, alignTo bucket: Int64? = nil, extra: [String] = []) throws {
        let extraColumns = extra.map { ", c.\($0)" }.joined()
        let marks = try Watermarks.read(db)
        let segments = Rollup.segments(
            since: filter.since, until: filter.until, hourlyUntil: marks.hourly, dailyUntil: marks.daily, alignTo: bucket)
        let dimensions = filter.dimensionConditions()
        var parts: [String] = []
        arguments = []
        for segment in segments {
            let conditions = ["c.bucket >= ?", "c.bucket < ?"] + dimensions.sql
            parts.append("""
                SELECT c.bucket, s.app, s.endpoint, s.model, s.status, s.type, s.code, c.calls, c.latency_calls, c.latency_ms_sum\(extraColumns)
                FROM \(Watermarks.table(segment.level)) c JOIN series s ON s.id = c.series
                WHERE \(conditions.joined(separator: " AND "))
                """)
            arguments += [segment.from, segment.to]
            arguments += dimensions.arguments
        }
        if parts.isEmpty {
            parts.append("SELECT 0 AS bucket, '' AS app, '' AS endpoint, '' AS model, 0 AS status, '' AS type, '' AS code, 0 AS calls, 0 AS latency_calls, 0 AS latency_ms_sum" + extra.map { ", 0 AS \($0)" }.joined() + " WHERE 0")
        }
        sql = parts.joined(separator: " UNION ALL ")
    }
}
