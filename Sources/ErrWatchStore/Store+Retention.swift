import ErrWatchCore
import GRDB

extension Store {
    /// Deletes error events and call counts older than `cutoff` (UTC milliseconds), at most
    /// `chunkSize` rows per transaction so that writers are never locked out for long.
    /// Returns how many rows went.
    @discardableResult
    public func deleteOlderThan(_ cutoff: Int64, chunkSize: Int = 5_000) throws -> Int {
        var deleted = 0
        let tables: [(String, String, Int64)] = [
            ("error_events", "ts", cutoff),
            ("call_counts", "bucket", Timestamp.floor(cutoff, to: Timestamp.minute)),
            ("call_counts_hourly", "bucket", Timestamp.floor(cutoff, to: Timestamp.hour)),
            ("call_counts_daily", "bucket", Timestamp.floor(cutoff, to: Timestamp.day)),
        ]
        for (table, column, limit) in tables {
            let key = table == "error_events" ? "rowid" : "bucket, app, endpoint, model, status, type, code"
            while true {
                let count = try writer.write { db -> Int in
                    try db.execute(sql: """
                        DELETE FROM \(table) WHERE (\(key)) IN (
                            SELECT \(key) FROM \(table) WHERE \(column) < ? ORDER BY \(column) LIMIT ?)
                        """, arguments: [limit, chunkSize])
                    return db.changesCount
                }
                deleted += count
                if count < chunkSize { break }
            }
        }
        return deleted
    }
}
