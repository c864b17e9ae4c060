import ErrWatchCore
import GRDB

extension Store {
    /// Where retention cuts for `cutoff`: the start of its UTC day. Hourly and daily rollups
    /// hold whole days, so cutting every table at a day's start keeps the history and all its
    /// rates consistent: nothing before it is left anywhere, nothing after it is touched.
    public static func retentionCut(_ cutoff: Int64) -> Int64 {
        Timestamp.floor(cutoff, to: Timestamp.day)
    }

    /// Deletes error events and call counts from before ``retentionCut(_:)`` of `cutoff`,
    /// at most `chunkSize` rows per transaction so that writers are never locked out for
    /// long. Returns how many rows went.
    @discardableResult
    public func deleteOlderThan(_ cutoff: Int64, chunkSize: Int = 5_000) throws -> Int {
        let cut = Self.retentionCut(cutoff)
        var deleted = 0
        let tables: [(table: String, column: String, key: String)] = [
            ("error_events", "ts", "rowid"),
            ("call_counts", "bucket", "bucket, series"),
            ("call_counts_hourly", "bucket", "bucket, series"),
            ("call_counts_daily", "bucket", "bucket, series"),
        ]
        for (table, column, key) in tables {
            while true {
                let count = try writer.write { db -> Int in
                    try db.execute(sql: """
                        DELETE FROM \(table) WHERE (\(key)) IN (
                            SELECT \(key) FROM \(table) WHERE \(column) < ? ORDER BY \(column) LIMIT ?)
                        """, arguments: [cut, chunkSize])
                    return db.changesCount
                }
                deleted += count
                if count < chunkSize { break }
            }
        }
        return deleted
    }
}
