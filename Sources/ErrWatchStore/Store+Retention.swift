import ErrWatchCore
import Foundation
import GRDB

/// How long each kind of data is kept, and how large the database may grow; nil keeps a kind
/// forever (or lets the file grow).
public struct RetentionPolicy: Sendable, Hashable {
    /// Error rows: the history that `errors`, `export` and the dashboard list.
    public var errorsMs: Int64? = 30 * Timestamp.day
    /// Call counts per minute; older ones live on in the hourly and daily rollups.
    public var minuteCountsMs: Int64? = 7 * Timestamp.day
    /// The hourly and daily rollups, which rates and trends over long ranges read.
    public var rollupsMs: Int64? = 400 * Timestamp.day
    /// Alert history and notification attempts (not the alerts' current state).
    public var alertsMs: Int64? = 90 * Timestamp.day
    /// The most the file may hold: over it, the oldest error rows go first, then the oldest
    /// counts, a day at a time.
    public var maxBytes: Int64?

    public init() {}
}

/// A kind of data retention cuts.
public enum RetentionKind: String, Sendable, CaseIterable {
    case errors
    case minuteCounts = "minute_counts"
    case rollups
    case alerts

    /// Its tables, in the order rows go (a notification before the alert event it belongs to),
    /// each with its time column and its key.
    fileprivate var tables: [(table: String, column: String, key: String)] {
        switch self {
        case .errors: [("error_events", "ts", "rowid")]
        case .minuteCounts: [("call_counts", "bucket", "bucket, series")]
        case .rollups: [("call_counts_hourly", "bucket", "bucket, series"), ("call_counts_daily", "bucket", "bucket, series")]
        case .alerts: [("notifications", "ts", "rowid"), ("alert_events", "ts", "rowid")]
        }
    }
}

/// What one pass of retention did (or, dry, would do).
public struct PruneResult: Sendable {
    /// One kind cut at one time.
    public struct Cut: Sendable, Hashable {
        public var kind: RetentionKind
        /// Nothing of the kind from before this is left (a UTC day's start).
        public var before: Int64
        public var rows: Int
        /// Whether `max_db_size`, not age, made the cut.
        public var bySize: Bool

        public init(kind: RetentionKind, before: Int64, rows: Int, bySize: Bool) {
            self.kind = kind
            self.before = before
            self.rows = rows
            self.bySize = bySize
        }
    }

    public var cuts: [Cut] = []
    /// The file's size before and after, space reclaimed included.
    public var bytesBefore: Int64 = 0
    public var bytesAfter: Int64 = 0

    public var rows: Int { cuts.reduce(0) { $0 + $1.rows } }

    public init(cuts: [Cut] = [], bytesBefore: Int64 = 0, bytesAfter: Int64 = 0) {
        self.cuts = cuts
        self.bytesBefore = bytesBefore
        self.bytesAfter = bytesAfter
    }
}

extension Store {
    /// How long retention rests after each transaction, as a multiple of the time it took:
    /// 3 keeps it to about a quarter of one core while the agent records.
    public static let defaultRest = 3.0

    /// Where retention cuts for `cutoff`: the start of its UTC day. Hourly and daily rollups
    /// hold whole days, so cutting every table at a day's start keeps the history and all its
    /// rates consistent: nothing before it is left anywhere, nothing after it is touched.
    public static func retentionCut(_ cutoff: Int64) -> Int64 {
        Timestamp.floor(cutoff, to: Timestamp.day)
    }

    /// Deletes everything from before ``retentionCut(_:)`` of `cutoff` (errors, counts at every
    /// level, alert history), at most `chunkSize` rows per transaction so that writers are never
    /// locked out for long, resting `rest` times as long as each transaction took before the
    /// next (``defaultRest``) so that retention takes a small share of the machine from the
    /// traffic it records. Returns how many rows went, or with `dryRun` would go.
    @discardableResult
    public func deleteOlderThan(_ cutoff: Int64, chunkSize: Int = 5_000, rest: Double = Store.defaultRest, dryRun: Bool = false) throws -> Int {
        let before = Self.retentionCut(cutoff)
        var deleted = 0
        for kind in RetentionKind.allCases {
            deleted += try cut(kind, before: before, chunkSize: chunkSize, rest: rest, dryRun: dryRun)
        }
        if !dryRun { try reclaimSpace(rest: rest) }
        return deleted
    }

    /// Applies `policy` at `now`: each kind cut at the start of the UTC day its age reaches
    /// back to, then, when the file holds more than `maxBytes`, the oldest days of errors and
    /// then of counts until it does not; then the freed space is given back to the file system
    /// (incremental vacuum). Minute counts go only once rolled up, so rates keep their totals.
    /// Every transaction deletes at most `chunkSize` rows, with rests between them as in
    /// ``deleteOlderThan(_:chunkSize:rest:dryRun:)``. A dry run counts instead, by age only.
    public func prune(_ policy: RetentionPolicy, now: Int64, chunkSize: Int = 5_000, rest: Double = Store.defaultRest,
                      dryRun: Bool = false) throws -> PruneResult {
        var result = PruneResult()
        result.bytesBefore = try fileBytes()
        let marks = try writer.read { db in try Watermarks.read(db) }
        let ages: [(RetentionKind, Int64?, Int64)] = [
            (.errors, policy.errorsMs, Int64.max),
            (.minuteCounts, policy.minuteCountsMs, Self.retentionCut(marks.hourly)),
            (.rollups, policy.rollupsMs, Int64.max),
            (.alerts, policy.alertsMs, Int64.max),
        ]
        for case let (kind, age?, limit) in ages {
            let before = min(Self.retentionCut(now - age), limit)
            let rows = try cut(kind, before: before, chunkSize: chunkSize, rest: rest, dryRun: dryRun)
            if rows > 0 { result.cuts.append(.init(kind: kind, before: before, rows: rows, bySize: false)) }
        }
        if let maxBytes = policy.maxBytes, !dryRun {
            result.cuts += try shrink(to: maxBytes, marks: marks, chunkSize: chunkSize, rest: rest)
        }
        if !dryRun { try reclaimSpace(rest: rest) }
        result.bytesAfter = try fileBytes()
        return result
    }

    /// Where retention has cut each kind: nothing of it from before the time is left.
    public func retentionHorizons() throws -> [RetentionKind: Int64] {
        try writer.read { db in
            var horizons: [RetentionKind: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, before_ms FROM retention_horizons") {
                if let kind = RetentionKind(rawValue: row["kind"]) { horizons[kind] = row["before_ms"] }
            }
            return horizons
        }
    }

    /// What a query over a range starting at `since` that reads `kinds` is missing because
    /// retention cut it: one sentence per cut the range reaches before, empty when none does.
    /// Query commands print these, so a pruned range does not pass for a quiet one.
    public func retentionNotes(since: Int64, reading kinds: [RetentionKind]) throws -> [(kind: RetentionKind, before: Int64, text: String)] {
        let horizons = try retentionHorizons()
        return kinds.compactMap { kind in
            guard let before = horizons[kind], since < before else { return nil }
            let when = Timestamp.iso8601(before)
            let text = switch kind {
            case .errors: "error rows before \(when) were deleted by retention (retain_errors); none earlier are shown."
            case .minuteCounts: "minute counts before \(when) were deleted by retention (retain_minute_counts); before then counts are hourly, so a partial hour counts whole."
            case .rollups: "call counts before \(when) were deleted by retention (retain_rollups); rates before then are not known."
            case .alerts: "alert history before \(when) was deleted by retention (retain_alerts)."
            }
            return (kind, before, text)
        }
    }

    /// The database file's size, free pages included.
    public func fileBytes() throws -> Int64 {
        try writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()") ?? 0
        }
    }

    /// The bytes the data takes: the file less its free pages.
    private func usedBytes() throws -> Int64 {
        try writer.read { db in
            try Int64.fetchOne(db, sql: """
                SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()
                """) ?? 0
        }
    }

    /// Deletes (or counts) `kind`'s rows from before `before`, in transactions of at most
    /// `chunkSize` rows, and moves its horizon there when any went.
    private func cut(_ kind: RetentionKind, before: Int64, chunkSize: Int, rest: Double, dryRun: Bool) throws -> Int {
        var total = 0
        for (table, column, key) in kind.tables {
            // Notifications go with their event, whatever their own time.
            let condition = table == "notifications" ? "event_id IN (SELECT id FROM alert_events WHERE ts < ?)" : "\(column) < ?"
            if dryRun {
                total += try writer.read { db in
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table) WHERE \(condition)", arguments: [before]) ?? 0
                }
                continue
            }
            while true {
                let started = ContinuousClock.now
                let count = try retentionWrite { db -> Int in
                    if key == "rowid" {
                        // Rows found through the time index, deleted by rowid.
                        try db.execute(sql: """
                            DELETE FROM \(table) WHERE rowid IN (
                                SELECT rowid FROM \(table) WHERE \(condition) ORDER BY \(column) LIMIT ?)
                            """, arguments: [before, chunkSize])
                    } else {
                        // Count tables are keyed by (bucket, series): delete whole buckets up to
                        // the one about `chunkSize` rows in, a range of the primary key (a row
                        // value IN a subquery would scan the table on every chunk).
                        let boundary = try Int64.fetchOne(db, sql: """
                            SELECT \(column) FROM \(table) WHERE \(column) < ? ORDER BY \(column) LIMIT 1 OFFSET ?
                            """, arguments: [before, chunkSize])
                        try db.execute(sql: "DELETE FROM \(table) WHERE \(column) < ? AND \(column) <= ?",
                                       arguments: [before, boundary ?? before])
                    }
                    return db.changesCount
                }
                try checkpointOwnPages()
                total += count
                if count < chunkSize { break }
                if rest > 0 { Thread.sleep(forTimeInterval: (ContinuousClock.now - started).secondsValue * rest) }
            }
        }
        if total > 0, !dryRun {
            try retentionWrite { db in
                try db.execute(sql: """
                    INSERT INTO retention_horizons (kind, before_ms) VALUES (?, ?)
                    ON CONFLICT (kind) DO UPDATE SET before_ms = max(before_ms, excluded.before_ms)
                    """, arguments: [kind.rawValue, before])
            }
        }
        return total
    }

    /// Deletes the oldest day of errors, else of rolled-up minute counts, else of rollups,
    /// until the data fits in `maxBytes` or nothing is left to cut.
    private func shrink(to maxBytes: Int64, marks: Watermarks, chunkSize: Int, rest: Double) throws -> [PruneResult.Cut] {
        var cuts: [PruneResult.Cut] = []
        while try usedBytes() > maxBytes {
            let oldest: [(RetentionKind, String, Int64)] = [
                (.errors, "SELECT min(ts) FROM error_events", Int64.max),
                (.minuteCounts, "SELECT min(bucket) FROM call_counts", Self.retentionCut(marks.hourly)),
                (.rollups, "SELECT min(bucket) FROM call_counts_hourly", Int64.max),
                (.rollups, "SELECT min(bucket) FROM call_counts_daily", Int64.max),
            ]
            var cutOne = false
            for (kind, sql, limit) in oldest {
                guard let first = try writer.read({ db in try Int64.fetchOne(db, sql: sql) }) else { continue }
                let before = min(Self.retentionCut(first) + Timestamp.day, limit)
                guard before > first else { continue }
                let rows = try cut(kind, before: before, chunkSize: chunkSize, rest: rest, dryRun: false)
                guard rows > 0 else { continue }
                if let last = cuts.last, last.kind == kind {
                    cuts[cuts.count - 1].before = before
                    cuts[cuts.count - 1].rows += rows
                } else {
                    cuts.append(.init(kind: kind, before: before, rows: rows, bySize: true))
                }
                cutOne = true
                break
            }
            if !cutOne { break }
        }
        return cuts
    }

    /// Gives free pages back to the file system when the file allows it (created with
    /// incremental auto-vacuum, as every database errwatch creates is), a few megabytes per
    /// step so the writer is not held up, then checkpoints so the file itself shrinks.
    private func reclaimSpace(rest: Double) throws {
        let incremental = try writer.read { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") } == 2
        guard incremental else { return }
        for _ in 0..<100_000 {
            let started = ContinuousClock.now
            let free = try retentionWrite(transaction: false) { db -> Int in
                try db.execute(sql: "PRAGMA incremental_vacuum(1024)")
                return try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            }
            try checkpointOwnPages()
            if free == 0 { break }
            if rest > 0 { Thread.sleep(forTimeInterval: (ContinuousClock.now - started).secondsValue * rest) }
        }
        try checkpointOwnPages()
    }

    /// Copies the write-ahead log into the file on retention's own (low-priority) thread, after
    /// each of its transactions. Otherwise the pages it changed wait in the log for the next
    /// commit that crosses SQLite's auto-checkpoint threshold, which is the agent's recording
    /// thread's: it would copy and sync retention's megabytes at normal priority. Passive: it
    /// takes what no reader still needs and never waits for a lock.
    private func checkpointOwnPages() throws {
        _ = try retentionWrite(transaction: false) { db in try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") }
    }

    /// Every write of retention's: it holds the write lock through ``writeLock``, so that it
    /// gives way to the agent's recording (``WriteLockPriority/holding(grace:_:)``).
    private func retentionWrite<T>(transaction: Bool = true, _ body: (Database) throws -> T) throws -> T {
        try writeLock.holding {
            transaction ? try writer.write(body) : try writer.writeWithoutTransaction(body)
        }
    }
}
