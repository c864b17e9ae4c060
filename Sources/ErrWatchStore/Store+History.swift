import ErrWatchCore
import Foundation
import GRDB

/// One recorded error, as the history shows it.
public struct ErrorEvent: Sendable, Hashable {
    /// The row id; with `timestamp` it orders the history and makes the paging cursor.
    public var id: Int64
    /// The call outcome, with its error.
    public var outcome: CallOutcome
    /// The error (never nil for a stored event; repeated here for convenience).
    public var error: CallError { outcome.error! }
}

/// A position in the newest-first history: the page after it starts with older rows.
public struct HistoryCursor: Sendable, Hashable, CustomStringConvertible {
    public var timestamp: Int64
    public var id: Int64

    /// The cursor of the last row of a page.
    public init(timestamp: Int64, id: Int64) {
        self.timestamp = timestamp
        self.id = id
    }

    /// Parses the text form `TIMESTAMP-ID` that ``description`` prints.
    public init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let timestamp = Int64(parts[0]), let id = Int64(parts[1]) else { return nil }
        self.init(timestamp: timestamp, id: id)
    }

    public var description: String { "\(timestamp)-\(id)" }
}

extension Store {
    /// A page of the error history.
    public struct HistoryPage: Sendable {
        /// The errors, newest first.
        public var events: [ErrorEvent]
        /// Where the next page starts, or nil when this is the last.
        public var next: HistoryCursor?
    }

    /// The errors that match `filter`, newest first, at most `limit`, starting after `cursor`.
    /// Paging is by key (time, id), so a page costs the same however deep it is.
    public func errors(_ filter: Filter, limit: Int, after cursor: HistoryCursor? = nil) throws -> HistoryPage {
        var conditions = ["ts >= ?", "ts < ?"]
        var arguments: StatementArguments = [filter.since, filter.until]
        let dimensions = filter.dimensionConditions()
        conditions += dimensions.sql
        arguments += dimensions.arguments
        if let retryable = filter.retryable {
            conditions.append("retryable = ?")
            arguments += [retryable]
        }
        if let text = filter.messageContains, !text.isEmpty {
            conditions.append("message LIKE ? ESCAPE '\\'")
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            arguments += ["%\(escaped)%"]
        }
        if let cursor {
            conditions.append("(ts < ? OR (ts = ? AND id < ?))")
            arguments += [cursor.timestamp, cursor.timestamp, cursor.id]
        }
        arguments += [limit + 1]
        let sql = """
            SELECT id, ts, app, endpoint, model, status, type, code, message, retryable, attempt, latency_ms, request_id, streamed,
                   time_to_headers_ms, final_attempt, provider_type, provider_code, retry_after_ms, upstream, provider, host
            FROM error_events WHERE \(conditions.joined(separator: " AND "))
            ORDER BY ts DESC, id DESC LIMIT ?
            """
        var events = try writer.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.event(from:))
        }
        var next: HistoryCursor?
        if events.count > limit {
            events.removeLast()
            next = events.last.map { HistoryCursor(timestamp: $0.outcome.timestamp, id: $0.id) }
        }
        return HistoryPage(events: events, next: next)
    }

    /// An event from a row of the SELECT above, read by position: looking columns up by name
    /// costs more than the rest of an export.
    private static func event(from row: Row) -> ErrorEvent {
        let status: Int = row[5]
        let error = CallError(type: ErrorType(rawValue: row[6]), code: row[7], message: row[8], retryable: row[9],
                              retryAfterMs: row[18], providerType: row[16], providerCode: row[17])
        let outcome = CallOutcome(
            timestamp: row[1], app: row[2], endpoint: row[3], model: row[4], upstream: row[19], provider: row[20], host: row[21],
            status: status == 0 ? nil : status, error: error, attempt: row[10],
            latencyMs: row[11], timeToHeadersMs: row[14], requestID: row[12],
            streamed: row[13], finalAttempt: row[15])
        return ErrorEvent(id: row[0], outcome: outcome)
    }
}
