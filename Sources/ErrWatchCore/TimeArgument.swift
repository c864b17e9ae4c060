/// A point in time as a user types it on the command line or in a query string:
/// `now`, a span back from now (`30s`, `24h`, `7d`), or an absolute ISO-8601 time.
public enum TimeArgument {
    /// The UTC milliseconds that `text` names, relative spans counted back from `now`.
    public static func parse(_ text: String, now: Int64, what: String = "time") throws(ErrWatchError) -> Int64 {
        let trimmed = String(text.trimmingSpaces())
        if trimmed == "now" { return now }
        if let span = DurationText.milliseconds(trimmed) { return now - span }
        if let absolute = Timestamp.parseISO8601(trimmed) { return absolute }
        throw ErrWatchError(.invalidArgument,
            "Invalid \(what) '\(text)'; give a span back from now (30s, 5m, 1h, 7d), 'now', or an ISO-8601 time such as 2026-11-25T10:00:00Z.")
    }
}
