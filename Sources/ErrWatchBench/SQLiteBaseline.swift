import ErrWatchCore
import ErrWatchStore
import GRDBSQLite

/// The benchmark's baseline: error rows inserted with nothing but SQLite's C API — one held
/// prepared statement, the same schema and indexes, the same pragmas and transaction sizes, and
/// every column errwatch fills in its rows (the host included).
struct SQLiteBaseline {
    private var db: OpaquePointer?
    private var insert: OpaquePointer?
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// The host recorded for outcomes that name none, as errwatch's store records it.
    private let host: String

    init(path: String, host: String) throws {
        self.host = host
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK else {
            throw BenchFailure("Cannot open the baseline database at \(path).")
        }
        try exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        for migration in Migrations.all { try exec(migration.sql) }
        let sql = """
            INSERT INTO error_events (ts, app, endpoint, model, status, type, code, message, retryable, attempt, latency_ms, request_id, streamed,
                                      time_to_headers_ms, final_attempt, provider_type, provider_code, retry_after_ms, upstream, provider, host)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
            """
        guard sqlite3_prepare_v2(db, sql, -1, &insert, nil) == SQLITE_OK else {
            throw BenchFailure("Cannot prepare the baseline insert: \(String(cString: sqlite3_errmsg(db))).")
        }
    }

    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw BenchFailure("Baseline SQL failed: \(String(cString: sqlite3_errmsg(db))).")
        }
    }

    /// Inserts the error rows of `batch` in one transaction.
    func insert(_ batch: ArraySlice<CallOutcome>) throws {
        try exec("BEGIN")
        for outcome in batch {
            guard let error = outcome.error else { continue }
            sqlite3_bind_int64(insert, 1, outcome.timestamp)
            bind(2, outcome.app)
            bind(3, outcome.endpoint)
            bind(4, outcome.model)
            sqlite3_bind_int64(insert, 5, Int64(outcome.status ?? 0))
            bind(6, error.type.rawValue)
            bind(7, error.code)
            bind(8, error.message)
            sqlite3_bind_int64(insert, 9, error.retryable ? 1 : 0)
            sqlite3_bind_int64(insert, 10, Int64(outcome.attempt))
            if let latency = outcome.latencyMs { sqlite3_bind_int64(insert, 11, latency) } else { sqlite3_bind_null(insert, 11) }
            if let id = outcome.requestID { bind(12, id) } else { sqlite3_bind_null(insert, 12) }
            sqlite3_bind_int64(insert, 13, outcome.streamed ? 1 : 0)
            bind(14, outcome.timeToHeadersMs)
            bind(15, outcome.finalAttempt.map { $0 ? 1 : 0 })
            bind(16, error.providerType)
            bind(17, error.providerCode)
            bind(18, error.retryAfterMs)
            bind(19, outcome.upstream)
            bind(20, outcome.provider)
            bind(21, outcome.host.isEmpty ? host : outcome.host)
            guard sqlite3_step(insert) == SQLITE_DONE else {
                throw BenchFailure("Baseline insert failed: \(String(cString: sqlite3_errmsg(db))).")
            }
            sqlite3_reset(insert)
        }
        try exec("COMMIT")
    }

    private func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(insert, index, value) } else { sqlite3_bind_null(insert, index) }
    }

    private func bind(_ index: Int32, _ text: String?) {
        if let text { bind(index, text) } else { sqlite3_bind_null(insert, index) }
    }

    private func bind(_ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { bytes in
            _ = bytes.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(insert, index, $0.baseAddress, Int32(bytes.count), Self.transient)
            }
        }
    }

    func close() {
        sqlite3_finalize(insert)
        sqlite3_close_v2(db)
    }
}
