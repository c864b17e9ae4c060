import ErrWatchCore
import Foundation
import GRDB

extension Store: AlertCountSource {
    /// Per group, the calls of its app, endpoint and model and the errors `scope` narrows to,
    /// over `[from, to)`. For many rules at once, ``StoreCountSource`` reads each window once.
    public func counts(scope: RuleScope, groupBy: [ErrWatchCore.Dimension], from: Int64, to: Int64) throws -> [[String]: GroupCounts] {
        try StoreCountSource(store: self).counts(scope: scope, groupBy: groupBy, from: from, to: to)
    }

    public func latencies(_ timing: Timing, scope: RuleScope, groupBy: [ErrWatchCore.Dimension], from: Int64, to: Int64) throws -> [[String]: [Int64]] {
        try StoreCountSource(store: self).latencies(timing, scope: scope, groupBy: groupBy, from: from, to: to)
    }

    /// A database alone knows of no call in flight.
    public func inflight(scope: RuleScope, groupBy: [ErrWatchCore.Dimension], olderThan: Int64, at now: Int64) throws -> [[String]: GroupCounts] {
        [:]
    }

    /// The histogram of `timing` per series id over `[from, to)`, read from the coarsest
    /// rollups that cover it.
    public func latencyPerSeries(_ timing: Timing = .latency, from: Int64, to: Int64) throws -> [Int64: [Int64]] {
        let histogram = timing.histogram
        let sums = histogram.columns.map { "sum(\($0))" }.joined(separator: ", ")
        return try writer.read { db in
            let marks = try Watermarks.read(db)
            var result: [Int64: [Int64]] = [:]
            for segment in Rollup.segments(since: from, until: to, hourlyUntil: marks.hourly, dailyUntil: marks.daily) {
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT series, \(sums) FROM \(Watermarks.table(segment.level)) WHERE bucket >= ? AND bucket < ? GROUP BY series
                    """, arguments: [segment.from, segment.to])
                while let row = try rows.next() {
                    var counts = result[row[0]] ?? Array(repeating: 0, count: histogram.count)
                    for index in counts.indices { counts[index] += row[1 + index] as Int64 }
                    result[row[0]] = counts
                }
            }
            return result
        }
    }

    /// Every series by id.
    public func seriesDimensions() throws -> [Int64: SeriesDimensions] {
        try writer.read { db in
            var result: [Int64: SeriesDimensions] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT id, \(SeriesDimensions.columns(of: nil)) FROM series")
            while let row = try rows.next() {
                result[row[0]] = SeriesDimensions(row, at: 1)
            }
            return result
        }
    }

    /// Calls per series id over `[from, to)`, read from the coarsest rollups that cover it.
    public func callsPerSeries(from: Int64, to: Int64) throws -> [Int64: Int64] {
        try writer.read { db in
            let marks = try Watermarks.read(db)
            var result: [Int64: Int64] = [:]
            for segment in Rollup.segments(since: from, until: to, hourlyUntil: marks.hourly, dailyUntil: marks.daily) {
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT series, sum(calls) FROM \(Watermarks.table(segment.level)) WHERE bucket >= ? AND bucket < ? GROUP BY series
                    """, arguments: [segment.from, segment.to])
                while let row = try rows.next() {
                    result[row[0], default: 0] += row[1] as Int64
                }
            }
            return result
        }
    }
}

extension Store {
    /// Every stored alert: pending, firing, and the latest resolved one of each rule and group.
    public func alerts() throws -> [AlertState] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alerts ORDER BY rule, group_key").map(Self.alertState)
        }
    }

    /// Saves one evaluation's outcome in one transaction: the alerts that changed (a nil
    /// state deletes the rule and group's row) and the events, returning each event's id.
    public func saveAlerts(changes: [(rule: String, group: [String], state: AlertState?)], events: [AlertEvent]) throws -> [Int64] {
        try writer.write { db in
            for change in changes {
                let key = Self.groupKey(change.group)
                guard let alert = change.state else {
                    try db.execute(sql: "DELETE FROM alerts WHERE rule = ? AND group_key = ?", arguments: [change.rule, key])
                    continue
                }
                try db.execute(sql: """
                    INSERT OR REPLACE INTO alerts (rule, group_key, labels, state, severity, value, threshold, calls, errors,
                        active_since, starts_at, ends_at, last_notified_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [
                        alert.rule, key, Self.labelsJSON(alert.labels), alert.phase.rawValue, alert.severity.rawValue,
                        alert.value, alert.threshold, alert.calls, alert.errors, alert.activeSince, alert.startsAt,
                        alert.endsAt, alert.lastNotifiedAt, alert.updatedAt,
                    ])
            }
            var ids: [Int64] = []
            for event in events {
                let alert = event.alert
                try db.execute(sql: """
                    INSERT INTO alert_events (ts, rule, group_key, labels, event, severity, value, threshold, calls, errors,
                        starts_at, ends_at, notify, summary)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [
                        event.at, alert.rule, Self.groupKey(alert.group), Self.labelsJSON(alert.labels), event.kind.rawValue,
                        alert.severity.rawValue, alert.value, alert.threshold, alert.calls, alert.errors, alert.startsAt,
                        alert.endsAt, event.notify, event.summary,
                    ])
                ids.append(db.lastInsertedRowID)
            }
            return ids
        }
    }

    /// Records one delivery attempt.
    public func recordNotification(_ attempt: NotificationAttempt) throws {
        try writer.write { db in
            try db.execute(sql: """
                INSERT INTO notifications (event_id, notifier, attempt, ts, result, status, error, duration_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [attempt.eventID, attempt.notifier, attempt.attempt, attempt.at, attempt.result.rawValue,
                                 attempt.status, attempt.error, attempt.durationMs])
        }
    }

    /// Alert events in `[since, until)`, newest first, optionally of one rule.
    public func alertHistory(since: Int64, until: Int64, rule: String? = nil, limit: Int = 1_000) throws -> [AlertHistoryRow] {
        try writer.read { db in
            var sql = "SELECT * FROM alert_events WHERE ts >= ? AND ts < ?"
            var arguments: StatementArguments = [since, until]
            if let rule {
                sql += " AND rule = ?"
                arguments += [rule]
            }
            sql += " ORDER BY ts DESC, id DESC LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                var alert = Self.alertState(row)
                alert.updatedAt = row["ts"]
                alert.phase = row["event"] == "resolved" || row["event"] == "cancelled" ? .resolved
                    : (row["event"] == "pending" ? .pending : .firing)
                let event = AlertEvent(kind: AlertEvent.Kind(rawValue: row["event"]) ?? .firing, alert: alert,
                                       at: row["ts"], notify: row["notify"], summary: row["summary"])
                return AlertHistoryRow(id: row["id"], event: event)
            }
        }
    }

    /// The delivery attempts of the events in `[since, until)`, oldest first.
    public func notifications(since: Int64, until: Int64) throws -> [NotificationAttempt] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM notifications WHERE ts >= ? AND ts < ? ORDER BY ts, id",
                             arguments: [since, until]).map { row in
                NotificationAttempt(
                    eventID: row["event_id"], notifier: row["notifier"], attempt: row["attempt"], at: row["ts"],
                    result: NotificationAttempt.Result(rawValue: row["result"]) ?? .failed, status: row["status"],
                    error: row["error"], durationMs: row["duration_ms"])
            }
        }
    }

    static func groupKey(_ group: [String]) -> String {
        JSONOutput.array(group.map(JSONOutput.string)).text()
    }

    static func labelsJSON(_ labels: [String: String]) -> String {
        JSONOutput.labels(labels).text()
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }

    static func alertState(_ row: Row) -> AlertState {
        AlertState(
            rule: row["rule"], group: decode([String].self, row["group_key"]) ?? [],
            labels: decode([String: String].self, row["labels"]) ?? [:],
            phase: AlertPhase(rawValue: row["state"] ?? "") ?? .resolved,
            severity: AlertSeverity(rawValue: row["severity"] ?? "") ?? .warning,
            value: row["value"], threshold: row["threshold"], calls: row["calls"], errors: row["errors"],
            activeSince: row["active_since"] ?? row["starts_at"] ?? row["ts"], startsAt: row["starts_at"],
            endsAt: row["ends_at"], lastNotifiedAt: row["last_notified_at"], updatedAt: row["updated_at"] ?? row["ts"])
    }
}

extension Store {
    /// The minute call counts in `[since, until)` with their series' dimensions, for replaying
    /// rules in memory (``ReplaySource``).
    /// With `latency`, each row carries its latency and time-to-first-token histograms too
    /// (for latency, ttft and hanging rules).
    public func minuteRows(since: Int64, until: Int64, latency: Bool = false) throws -> [ReplaySource.Row] {
        let latencyColumns = Histogram.latency.columns, firstTokenColumns = Histogram.firstToken.columns
        let histogram = latency ? (latencyColumns + firstTokenColumns).map { ", c.\($0)" }.joined() : ""
        return try writer.read { db in
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT c.bucket, c.calls, \(SeriesDimensions.columns(of: "s"))\(histogram)
                FROM call_counts c JOIN series s ON s.id = c.series
                WHERE c.bucket >= ? AND c.bucket < ?
                """, arguments: [since, until])
            let histograms = 2 + SeriesDimensions.columnCount
            var rows: [ReplaySource.Row] = []
            while let row = try cursor.next() {
                rows.append(ReplaySource.Row(bucket: row[0], series: SeriesDimensions(row, at: 2), calls: row[1],
                                             latency: latency ? latencyColumns.indices.map { row[histograms + $0] } : [],
                                             firstToken: latency ? firstTokenColumns.indices.map { row[histograms + latencyColumns.count + $0] } : []))
            }
            return rows
        }
    }
}
