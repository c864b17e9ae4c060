import ErrWatchCore
import GRDB
import GRDBSQLite

/// Writes outcomes into an open write transaction: one `error_events` row per error, and the
/// call counts pre-aggregated so that each distinct (minute, dimensions) key costs one upsert
/// however many outcomes share it.
///
/// This is the hot path of recording. Its statements are prepared once per batch and bound
/// through SQLite's C API directly: GRDB's argument boxing cost about 40% of the insert rate.
struct OutcomeInserter {
    static let insertEventSQL = """
        INSERT INTO error_events (ts, app, endpoint, model, status, type, code, message, retryable, attempt, latency_ms, request_id, streamed)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
        """

    static func upsertCountSQL(table: String) -> String {
        """
        INSERT INTO \(table) (bucket, app, endpoint, model, status, type, code, calls, latency_calls, latency_ms_sum)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
        ON CONFLICT (bucket, app, endpoint, model, status, type, code) DO UPDATE SET
            calls = calls + excluded.calls,
            latency_calls = latency_calls + excluded.latency_calls,
            latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum
        """
    }

    /// The key of one call-count row.
    struct CountKey: Hashable {
        var bucket: Int64
        var app: String
        var endpoint: String
        var model: String
        var status: Int
        var type: String
        var code: String
    }

    /// The sums of one call-count row.
    struct CountSums {
        var calls: Int64 = 0
        var latencyCalls: Int64 = 0
        var latencySum: Int64 = 0

        mutating func add(_ other: CountSums) {
            calls += other.calls
            latencyCalls += other.latencyCalls
            latencySum += other.latencySum
        }
    }

    /// What one write added.
    struct Written {
        var outcomes = 0
        var errors = 0
    }

    /// Writes `outcomes` within the caller's transaction on `db`.
    static func insert(_ outcomes: some Sequence<CallOutcome>, into db: Database) throws -> Written {
        var written = Written()
        var counts: [CountKey: CountSums] = [:]
        let events = try Statement(db, sql: insertEventSQL)
        defer { events.finalize() }
        for outcome in outcomes {
            let key = CountKey(
                bucket: Timestamp.floor(outcome.timestamp, to: Timestamp.minute), app: outcome.app,
                endpoint: outcome.endpoint, model: outcome.model, status: outcome.status ?? 0,
                type: outcome.error?.type.rawValue ?? "", code: outcome.error?.code ?? "")
            let calls = Int64(outcome.count)
            counts[key, default: CountSums()].add(CountSums(
                calls: calls, latencyCalls: outcome.latencyMs == nil ? 0 : calls,
                latencySum: (outcome.latencyMs ?? 0) * calls))
            written.outcomes += outcome.count
            if let error = outcome.error {
                try events.insert(outcome, error)
                written.errors += 1
            }
        }
        try upsert(counts, into: db)
        return written
    }

    /// Adds `counts` to the minute table, and to each rollup level whose watermark is past
    /// the minute (that level is complete there, so a late outcome must land in it too).
    static func upsert(_ counts: [CountKey: CountSums], into db: Database) throws {
        guard !counts.isEmpty else { return }
        let marks = try Watermarks.read(db)
        try upsert(counts, table: "call_counts", into: db)
        for (level, mark) in [(Rollup.Level.hourly, marks.hourly), (.daily, marks.daily)] {
            var late: [CountKey: CountSums] = [:]
            for (key, sums) in counts where key.bucket < mark {
                var coarse = key
                coarse.bucket = Timestamp.floor(key.bucket, to: level.bucketMs)
                late[coarse, default: CountSums()].add(sums)
            }
            if !late.isEmpty { try upsert(late, table: Watermarks.table(level), into: db) }
        }
    }

    private static func upsert(_ counts: [CountKey: CountSums], table: String, into db: Database) throws {
        let statement = try Statement(db, sql: upsertCountSQL(table: table))
        defer { statement.finalize() }
        for (key, sums) in counts {
            statement.bind(1, key.bucket)
            statement.bind(2, key.app)
            statement.bind(3, key.endpoint)
            statement.bind(4, key.model)
            statement.bind(5, Int64(key.status))
            statement.bind(6, key.type)
            statement.bind(7, key.code)
            statement.bind(8, sums.calls)
            statement.bind(9, sums.latencyCalls)
            statement.bind(10, sums.latencySum)
            try statement.step(db)
        }
    }
}

/// A prepared statement bound and stepped through SQLite's C API.
struct Statement {
    private let handle: OpaquePointer
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ db: Database, sql: String) throws {
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v2(db.sqliteConnection, sql, -1, &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
        }
        self.handle = handle
    }

    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(handle, index, value) } else { sqlite3_bind_null(handle, index) }
    }

    func bind(_ index: Int32, _ value: String) {
        var value = value
        value.withUTF8 { bytes in
            _ = bytes.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(handle, index, $0.baseAddress, Int32(bytes.count), Self.transient)
            }
        }
    }

    func bind(_ index: Int32, _ value: String?) {
        if let value { bind(index, value) } else { sqlite3_bind_null(handle, index) }
    }

    /// Runs the statement once and resets it for the next bindings.
    func step(_ db: Database) throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    func finalize() {
        sqlite3_finalize(handle)
    }

    /// Binds and inserts one error row (see ``OutcomeInserter/insertEventSQL``).
    func insert(_ outcome: CallOutcome, _ error: CallError) throws {
        bind(1, outcome.timestamp)
        bind(2, outcome.app)
        bind(3, outcome.endpoint)
        bind(4, outcome.model)
        bind(5, Int64(outcome.status ?? 0))
        bind(6, error.type.rawValue)
        bind(7, error.code)
        bind(8, error.message)
        bind(9, Int64(error.retryable ? 1 : 0))
        bind(10, Int64(outcome.attempt))
        bind(11, outcome.latencyMs)
        bind(12, outcome.requestID)
        bind(13, Int64(outcome.streamed ? 1 : 0))
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "inserting an error event failed")
        }
    }
}
