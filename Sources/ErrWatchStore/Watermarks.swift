import ErrWatchCore
import GRDB

/// How far each rollup level is complete: below its watermark, every minute row is counted in it.
struct Watermarks {
    var hourly: Int64
    var daily: Int64

    static func read(_ db: Database) throws -> Watermarks {
        // Read on every batch: a cached statement, not a freshly prepared one.
        let statement = try db.cachedStatement(sql: "SELECT level, until_ms FROM rollup_watermarks")
        var marks = Watermarks(hourly: 0, daily: 0)
        for row in try Row.fetchAll(statement) {
            switch row["level"] as String {
            case "hourly": marks.hourly = row["until_ms"]
            case "daily": marks.daily = row["until_ms"]
            default: break
            }
        }
        return marks
    }

    static func table(_ level: Rollup.Level) -> String {
        switch level {
        case .minute: "call_counts"
        case .hourly: "call_counts_hourly"
        case .daily: "call_counts_daily"
        }
    }
}
