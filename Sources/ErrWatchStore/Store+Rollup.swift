import ErrWatchCore
import GRDB

extension Store {
    /// Rolls minute counts up into the hourly table for every whole hour before `now`, and
    /// hourly counts into the daily table for every whole day before that; one transaction
    /// per day of data, so no write lock is held for long. Safe to call often and from
    /// several processes: the watermark is read and advanced inside each transaction.
    public func rollUp(now: Int64) throws {
        try rollUp(.hourly, from: "call_counts", until: Timestamp.floor(now, to: Timestamp.hour))
        let hourlyMark = try writer.read { db in try Watermarks.read(db).hourly }
        try rollUp(.daily, from: "call_counts_hourly", until: Timestamp.floor(hourlyMark, to: Timestamp.day))
    }

    private func rollUp(_ level: Rollup.Level, from source: String, until target: Int64) throws {
        let table = Watermarks.table(level)
        while true {
            let done = try writer.write { db -> Bool in
                let marks = try Watermarks.read(db)
                let mark = level == .hourly ? marks.hourly : marks.daily
                guard mark < target else { return true }
                // Skip empty stretches at once: start from the first source row at or after the mark.
                let first = try Int64.fetchOne(db, sql: "SELECT min(bucket) FROM \(source) WHERE bucket >= ?", arguments: [mark])
                let from = first.map { Timestamp.floor($0, to: level.bucketMs) } ?? target
                let to = min(target, max(from, mark) + Timestamp.day)
                if from < to {
                    // `WHERE` keeps SQLite from reading the upsert's ON as a join's.
                    let sums = OutcomeInserter.countSums.map { "sum(\($0))" }.joined(separator: ", ")
                    try db.execute(sql: OutcomeInserter.addCountsSQL(table: table, rows: """
                        SELECT bucket - bucket % \(level.bucketMs), series, \(sums)
                        FROM \(source) WHERE bucket >= ? AND bucket < ?
                        GROUP BY 1, series
                        """), arguments: [max(from, mark), to])
                }
                let newMark = max(to, mark)
                try db.execute(sql: "UPDATE rollup_watermarks SET until_ms = ? WHERE level = ?", arguments: [min(newMark, target), level.rawValue])
                return newMark >= target
            }
            if done { return }
        }
    }
}
