import ErrWatchCore
import Foundation
import GRDB

/// Merging other errwatch databases into this one: a fleet's history in one file.
///
/// Counts are additive per minute and series (histograms included), so a merge is exact: error
/// rows are copied, counts added. Each source is read through one read transaction of the
/// attached file (a consistent snapshot, even while its agent writes) and written in one
/// transaction here: a merge that fails or is killed half-way leaves this file as it was.
///
/// Merging the same source again adds only what is new: error rows past the last one copied
/// (ids only grow), and minute counts from the source's *open* period on. Minute rows within
/// ``mergeOpenWindow`` of the source's newest may still change there (a stream under way is
/// recorded when it ends, under the minute it began), so they are kept aside as the source had
/// them (`merged_open_counts`) and replaced, not added twice, by the next merge. Counts the
/// source holds only as hourly rollups (its minute rows pruned by retention) are added as hourly.
extension Store {
    /// What merging one source did.
    public struct MergeResult: Sendable, Hashable {
        /// The source's identity and the host its rows without one were given.
        public var source: String
        public var host: String
        /// Whether this source had been merged before.
        public var again: Bool
        /// Error rows copied.
        public var errors: Int
        /// Calls added to the counts (net of the open counts replaced).
        public var calls: Int64
    }

    /// How long after the source's newest minute its minute counts stay open to change.
    public static let mergeOpenWindow = Timestamp.hour

    /// Checks that `path` is an errwatch database of this version that is not this one, and
    /// returns its identity; nothing is written anywhere.
    public func mergeSource(_ path: String) throws -> Identity {
        var options = Options()
        options.readOnly = true
        options.create = false
        let source = try Store.open(path: path, options: options)
        defer { try? (source.writer as? DatabasePool)?.close() }
        let identity = try source.identity()
        if identity.id == (try self.identity()).id {
            throw ErrWatchError(.invalidArgument,
                "'\(path)' is the target database itself, or a copy of it; merge other hosts' files into it.")
        }
        return identity
    }

    /// Merges the errwatch database at `path` into this one. Its rows without a host are given
    /// `host`, else the host its agent ran as, else the file's name without extension; a source
    /// merged before keeps the host it was given then. `now` is for rolling up afterwards.
    public func merge(from path: String, host: String? = nil, now: Int64) throws -> MergeResult {
        let identity = try mergeSource(path)
        let fallback = identity.host.isEmpty ? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent : identity.host
        let result = try writer.writeWithoutTransaction { db -> MergeResult in
            try db.execute(sql: "ATTACH DATABASE ? AS merge_source", arguments: [path])
            defer { try? db.execute(sql: "DETACH DATABASE merge_source") }
            var result: MergeResult?
            try db.inTransaction(.immediate) {
                result = try Self.merge(db, identity: identity, host: host, fallbackHost: fallback, path: path, now: now)
                return .commit
            }
            return result!
        }
        try rollUp(now: now)
        return result
    }

    private static func merge(_ db: Database, identity: Identity, host: String?, fallbackHost: String, path: String, now: Int64) throws -> MergeResult {
        let earlier = try Row.fetchOne(db, sql: "SELECT host, last_error, settled_ms FROM merged_sources WHERE source = ?", arguments: [identity.id])
        let sourceHost: String
        if let earlier {
            sourceHost = earlier["host"]
            if let host, host != sourceHost {
                throw ErrWatchError(.invalidArgument,
                    "'\(path)' was merged before as host '\(sourceHost)'; its rows keep that name (drop --host \(host), or merge into a new file).")
            }
        } else {
            sourceHost = host ?? fallbackHost
        }
        let lastError: Int64 = earlier?["last_error"] ?? 0
        let settled: Int64 = earlier?["settled_ms"] ?? 0
        var result = MergeResult(source: identity.id, host: sourceHost, again: earlier != nil, errors: 0, calls: 0)

        // The source's series, here: created where missing, and mapped id to id.
        let named = "CASE WHEN s.host = '' THEN :host ELSE s.host END"
        try db.execute(sql: """
            INSERT INTO main.series (app, endpoint, model, upstream, provider, host, status, type, code)
            SELECT s.app, s.endpoint, s.model, s.upstream, s.provider, \(named), s.status, s.type, s.code FROM merge_source.series s WHERE true
            ON CONFLICT (app, endpoint, model, upstream, provider, host, status, type, code) DO NOTHING
            """, arguments: ["host": sourceHost])
        try db.execute(sql: "DROP TABLE IF EXISTS temp.merge_map")
        try db.execute(sql: """
            CREATE TEMP TABLE merge_map AS
            SELECT s.id AS source_id, t.id AS target_id FROM merge_source.series s
            JOIN main.series t ON t.app = s.app AND t.endpoint = s.endpoint AND t.model = s.model AND t.upstream = s.upstream AND t.provider = s.provider
                AND t.host = \(named) AND t.status = s.status AND t.type = s.type AND t.code = s.code
            """, arguments: ["host": sourceHost])

        // Error rows past the last one copied.
        let columns = "ts, app, endpoint, model, status, type, code, message, retryable, attempt, latency_ms, request_id, streamed, "
            + "time_to_headers_ms, final_attempt, provider_type, provider_code, retry_after_ms, upstream, provider"
        try db.execute(sql: """
            INSERT INTO main.error_events (\(columns), host)
            SELECT \(columns), CASE WHEN host = '' THEN ? ELSE host END FROM merge_source.error_events WHERE id > ? ORDER BY id
            """, arguments: [sourceHost, lastError])
        result.errors = db.changesCount
        let newLastError = try Int64.fetchOne(db, sql: "SELECT max(id) FROM merge_source.error_events") ?? lastError

        // The open counts merged last time come out first: they are taken again as they are now.
        let sums = OutcomeInserter.countSums
        try fill(db, with: """
            SELECT bucket, series, \(sums.map { "-\($0)" }.joined(separator: ", ")) FROM main.merged_open_counts WHERE source = ?
            """, arguments: [identity.id])
        result.calls += try addLate(db, level: .minute)
        try db.execute(sql: "DELETE FROM main.merged_open_counts WHERE source = ?", arguments: [identity.id])

        // What the source still has at minute level, and from when; before that, its hourly rows.
        var horizons: [String: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT kind, before_ms FROM merge_source.retention_horizons") {
            horizons[row[0]] = row[1]
        }
        let minutesFrom = max(settled, horizons["minute_counts"] ?? 0)
        // Two of the source's series map to one here only when one of them has no host and the
        // other names the host the first is given; only then must their counts be summed.
        let oneToOne = try Bool.fetchOne(db, sql: "SELECT count(*) = count(DISTINCT target_id) FROM temp.merge_map") ?? false
        func mapped(_ table: String) -> String {
            "SELECT c.bucket, m.target_id, \(sums.map { oneToOne ? "c.\($0)" : "sum(c.\($0))" }.joined(separator: ", ")) "
                + "FROM \(table) c JOIN temp.merge_map m ON m.source_id = c.series WHERE c.bucket >= ? AND c.bucket < ?"
                + (oneToOne ? "" : " GROUP BY c.bucket, m.target_id")
        }
        if settled < minutesFrom {
            try fill(db, with: mapped("merge_source.call_counts_hourly"),
                     arguments: [max(settled, horizons["rollups"] ?? 0), minutesFrom])
            result.calls += try addLate(db, level: .hourly)
        }
        let newest = try Int64.fetchOne(db, sql: "SELECT max(bucket) FROM merge_source.call_counts") ?? minutesFrom
        let newSettled = max(minutesFrom, Timestamp.floor(newest - mergeOpenWindow, to: Timestamp.hour))
        try fill(db, with: mapped("merge_source.call_counts"), arguments: [minutesFrom, Int64.max])
        result.calls += try addLate(db, level: .minute)
        try db.execute(sql: """
            INSERT INTO main.merged_open_counts (source, bucket, series, \(sums.joined(separator: ", ")))
            SELECT ?, bucket, series, \(sums.joined(separator: ", ")) FROM temp.merge_rows WHERE bucket >= ?
            """, arguments: [identity.id, newSettled])

        // What the source's retention removed is gone from the fleet's history too.
        try db.execute(sql: """
            INSERT INTO main.retention_horizons (kind, before_ms) SELECT kind, before_ms FROM merge_source.retention_horizons WHERE true
            ON CONFLICT (kind) DO UPDATE SET before_ms = max(before_ms, excluded.before_ms)
            """)
        try db.execute(sql: """
            INSERT INTO main.merged_sources (source, host, last_error, settled_ms, merged_at, path) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (source) DO UPDATE SET last_error = excluded.last_error, settled_ms = excluded.settled_ms,
                merged_at = excluded.merged_at, path = excluded.path
            """, arguments: [identity.id, sourceHost, newLastError, newSettled, now, path])
        try db.execute(sql: "DROP TABLE temp.merge_map")
        try db.execute(sql: "DROP TABLE IF EXISTS temp.merge_rows")
        return result
    }

    /// Replaces `temp.merge_rows` with the rows of `select`: bucket, series, then the sums of
    /// ``OutcomeInserter/countSums`` in order.
    private static func fill(_ db: Database, with select: String, arguments: StatementArguments) throws {
        try db.execute(sql: "DROP TABLE IF EXISTS temp.merge_rows")
        try db.execute(sql: """
            CREATE TEMP TABLE merge_rows (bucket INTEGER NOT NULL, series INTEGER NOT NULL, \
            \(OutcomeInserter.countSums.map { "\($0) INTEGER NOT NULL" }.joined(separator: ", ")))
            """)
        try db.execute(sql: "INSERT INTO temp.merge_rows \(select)", arguments: arguments)
    }

    /// Adds `temp.merge_rows`, of `level`'s buckets, to that level's table and, as a late
    /// outcome is, to each coarser level whose watermark is past the row (complete there).
    /// Returns the calls added.
    private static func addLate(_ db: Database, level: Rollup.Level) throws -> Int64 {
        let marks = try Watermarks.read(db)
        let sums = OutcomeInserter.countSums
        let summed = sums.map { "sum(\($0)) AS \($0)" }
        try db.execute(sql: OutcomeInserter.addCountsSQL(
            table: "main." + Watermarks.table(level),
            rows: "SELECT bucket, series, \(sums.joined(separator: ", ")) FROM temp.merge_rows WHERE true"))
        // Each coarser level from the one below it, as grouped here (daily from hourly): the
        // marks are aligned to their buckets and the daily one never passes the hourly one, so
        // a row before a mark is one whose coarser bucket is.
        var finer = "temp.merge_rows"
        for coarser in [Rollup.Level.hourly, .daily] where coarser.bucketMs > level.bucketMs {
            let mark = coarser == .hourly ? marks.hourly : marks.daily
            let grouped = "temp.merge_rows_\(coarser.rawValue)"
            try db.execute(sql: "DROP TABLE IF EXISTS \(grouped)")
            try db.execute(sql: """
                CREATE TABLE \(grouped) AS SELECT bucket - bucket % \(coarser.bucketMs) AS bucket, series, \(summed.joined(separator: ", "))
                FROM \(finer) WHERE bucket < ? GROUP BY 1, series
                """, arguments: [mark])
            try db.execute(sql: OutcomeInserter.addCountsSQL(
                table: "main." + Watermarks.table(coarser),
                rows: "SELECT bucket, series, \(sums.joined(separator: ", ")) FROM \(grouped) WHERE true"))
            finer = grouped
        }
        for coarser in [Rollup.Level.hourly, .daily] { try db.execute(sql: "DROP TABLE IF EXISTS temp.merge_rows_\(coarser.rawValue)") }
        return try Int64.fetchOne(db, sql: "SELECT coalesce(sum(calls), 0) FROM temp.merge_rows") ?? 0
    }
}
