import ErrWatchCore
import GRDB
import GRDBSQLite
/// Writes an ``OutcomeBatch`` into an open write transaction: one `error_events` row per
/// error, and one upsert per distinct (minute, series) of the counts, however many outcomes
/// share it.
///
/// This is the hot path of recording. Its statements are GRDB's cached statements, bound and
/// stepped through SQLite's C API directly: GRDB's argument boxing cost about 40% of the rate.
struct OutcomeInserter {
    static let insertEventSQL = """
        INSERT INTO error_events (ts, app, endpoint, model, status, type, code, message, retryable, attempt, latency_ms, request_id, streamed,
                                  time_to_headers_ms, final_attempt, provider_type, provider_code, retry_after_ms, upstream, provider, host)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
        """

    /// The summed columns every call has, in order.
    static let callSums = ["calls", "latency_calls", "latency_ms_sum", "headers_calls", "headers_ms_sum", "final_calls"]
        + Histogram.latency.columns
    /// The summed columns only streams add to, in order.
    static let streamSums = ["streamed_calls", "first_token_calls", "first_token_ms_sum", "chunks"] + Histogram.firstToken.columns
    /// The summed columns of every call-count table, in order; a new sum is added here once.
    static let countSums = callSums + streamSums

    /// `INSERT INTO table (bucket, series, sums…)` followed by `rows`, adding to a row that exists.
    static func addCountsSQL(table: String, rows: String, sums: [String] = countSums) -> String {
        """
        INSERT INTO \(table) (bucket, series, \(sums.joined(separator: ", ")))
        \(rows)
        ON CONFLICT (bucket, series) DO UPDATE SET
            \(sums.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", "))
        """
    }

    /// The single-row upserts of each level's table, built once: they are used on every batch.
    /// A row with no stream in it leaves the stream columns alone (most rows: a narrower upsert).
    static let upsertCountSQL: [Rollup.Level: (calls: String, streams: String)] = Dictionary(uniqueKeysWithValues: Rollup.Level.allCases.map { level in
        func upsert(_ sums: [String]) -> String {
            addCountsSQL(table: Watermarks.table(level), rows: "VALUES (" + (1...(sums.count + 2)).map { "?\($0)" }.joined(separator: ", ") + ")", sums: sums)
        }
        return (level, (upsert(callSums), upsert(countSums)))
    })

    typealias CountKey = OutcomeBatch.CountKey
    typealias CountSums = OutcomeBatch.CountSums
    typealias StreamSums = OutcomeBatch.StreamSums

    /// What one write added, and the series it created (to cache once it commits).
    struct Written {
        var calls = 0
        var errors = 0
        /// Calls that could not be counted because their series row could not be made or
        /// found: dropped and counted like any other recording failure, never a crash.
        var unwritableCalls = 0
        var newSeries: [SeriesDimensions: Int64] = [:]
    }

    /// Writes `batch` within the caller's transaction on `db`.
    static func insert(_ batch: OutcomeBatch, into db: Database, cache: SeriesCache) throws -> Written {
        let events = try Statement(cached: db, sql: insertEventSQL)
        for index in batch.errors.indices {
            try events.insert(batch.errors[index])
        }
        let (created, unwritable) = try upsert(batch.counts, streams: batch.streams, into: db, cache: cache)
        return Written(calls: batch.calls - unwritable, errors: batch.errors.count, unwritableCalls: unwritable, newSeries: created)
    }

    /// Adds `counts` to the minute table, and to each rollup level whose watermark is past
    /// the minute (that level is complete there, so a late outcome must land in it too).
    /// Returns the series it had to create, and the calls it could not count.
    static func upsert(_ counts: [CountKey: CountSums], streams: [CountKey: StreamSums] = [:], into db: Database,
                       cache: SeriesCache) throws -> (created: [SeriesDimensions: Int64], unwritableCalls: Int) {
        guard !counts.isEmpty else { return ([:], 0) }
        let (ids, created) = try seriesIDs(for: counts.keys.lazy.map(\.series), in: db, cache: cache)
        let marks = try Watermarks.read(db)
        let minutes = try CountStatements(db, level: .minute)
        var late: [Rollup.Level: [CountKey: CountSums]] = [:]
        var lateStreams: [Rollup.Level: [CountKey: StreamSums]] = [:]
        var unwritable = 0
        for (key, sums) in counts {
            guard let series = ids[key.series] else {
                unwritable += Int(sums.calls)
                continue
            }
            let stream = streams.isEmpty ? nil : streams[key]
            try minutes.upsert(bucket: key.bucket, series: series, sums, stream, db)
            // Rare: an outcome for a minute a rollup level has already covered.
            for level in [Rollup.Level.hourly, .daily] where key.bucket < (level == .hourly ? marks.hourly : marks.daily) {
                let coarse = CountKey(bucket: Timestamp.floor(key.bucket, to: level.bucketMs), series: key.series)
                late[level, default: [:]][coarse, default: CountSums()].add(sums)
                if let stream { lateStreams[level, default: [:]][coarse, default: StreamSums()].add(stream) }
            }
        }
        for (level, rows) in late {
            let statement = try CountStatements(db, level: level)
            for (key, sums) in rows {
                guard let series = ids[key.series] else { continue }
                try statement.upsert(bucket: key.bucket, series: series, sums, lateStreams[level]?[key], db)
            }
        }
        return (created, unwritable)
    }

    /// The ids of `keys`, from the cache or the database, creating the series that are new. A
    /// key whose row cannot be found after its insert is left out (the caller counts its calls
    /// as dropped): it is read back with the same byte-exact bindings it was written with, so
    /// this should not happen, but data from outside never gets a force-unwrap.
    private static func seriesIDs(for keys: some Sequence<SeriesDimensions>, in db: Database, cache: SeriesCache) throws -> (all: [SeriesDimensions: Int64], created: [SeriesDimensions: Int64]) {
        var (ids, missing) = cache.lookup(keys)
        guard !missing.isEmpty else { return (ids, [:]) }
        var created: [SeriesDimensions: Int64] = [:]
        let insert = try Statement(cached: db, sql: """
            INSERT INTO series (app, endpoint, model, upstream, provider, host, status, type, code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            ON CONFLICT (app, endpoint, model, upstream, provider, host, status, type, code) DO NOTHING
            """)
        let select = try Statement(cached: db, sql: """
            SELECT id FROM series WHERE app = ?1 AND endpoint = ?2 AND model = ?3 AND upstream = ?4 AND provider = ?5 AND host = ?6
                                    AND status = ?7 AND type = ?8 AND code = ?9
            """)
        for key in missing where ids[key] == nil {
            insert.bind(key)
            try insert.step(db)
            select.bind(key)
            guard let id = try select.int64(db) else { continue }
            ids[key] = id
            created[key] = id
        }
        return (ids, created)
    }
}

/// A level's two count upserts (``OutcomeInserter/upsertCountSQL``): the wider one for rows with streams.
struct CountStatements {
    let calls: Statement
    let streams: Statement

    init(_ db: Database, level: Rollup.Level) throws {
        let sql = OutcomeInserter.upsertCountSQL[level]!
        calls = try Statement(cached: db, sql: sql.calls)
        streams = try Statement(cached: db, sql: sql.streams)
    }

    func upsert(bucket: Int64, series: Int64, _ sums: OutcomeInserter.CountSums, _ stream: OutcomeInserter.StreamSums?, _ db: Database) throws {
        try (stream == nil ? calls : streams).upsert(bucket: bucket, series: series, sums, stream, db)
    }
}

/// A GRDB-cached prepared statement, bound and stepped through SQLite's C API.
struct Statement {
    private let handle: OpaquePointer
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// The connection's cached statement for `sql`; GRDB owns and finalizes it.
    init(cached db: Database, sql: String) throws {
        handle = try db.cachedStatement(sql: sql).sqliteStatement
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

    /// Binds the nine columns of a series row, in the table's order.
    func bind(_ key: SeriesDimensions) {
        bind(1, key.app)
        bind(2, key.endpoint)
        bind(3, key.model)
        bind(4, key.upstream)
        bind(5, key.provider)
        bind(6, key.host)
        bind(7, Int64(key.status))
        bind(8, key.type)
        bind(9, key.code)
    }

    /// Runs a query for one integer: the first row's first column, or nil when there is no row.
    func int64(_ db: Database) throws -> Int64? {
        defer { sqlite3_reset(handle) }
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return sqlite3_column_int64(handle, 0)
        case SQLITE_DONE: return nil
        case let code:
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// Runs the statement once and resets it for the next bindings.
    func step(_ db: Database) throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// Binds and runs one count upsert (see ``OutcomeInserter/upsertCountSQL``).
    func upsert(bucket: Int64, series: Int64, _ sums: OutcomeInserter.CountSums, _ stream: OutcomeInserter.StreamSums?, _ db: Database) throws {
        bind(1, bucket)
        bind(2, series)
        bind(3, sums.calls)
        bind(4, sums.latencyCalls)
        bind(5, sums.latencySum)
        bind(6, sums.headersCalls)
        bind(7, sums.headersSum)
        bind(8, sums.finalCalls)
        for index in sums.latencyBuckets.indices {
            bind(Int32(9 + index), sums.latencyBuckets[index])
        }
        // The stream columns follow when this is the streams' upsert (they are bound only there).
        if let stream {
            let first = Int32(9 + sums.latencyBuckets.count)
            bind(first, stream.streamedCalls)
            bind(first + 1, stream.firstTokenCalls)
            bind(first + 2, stream.firstTokenSum)
            bind(first + 3, stream.chunks)
            for index in stream.firstTokenBuckets.indices {
                bind(first + 4 + Int32(index), stream.firstTokenBuckets[index])
            }
        }
        try step(db)
    }

    /// Binds and inserts one error row (see ``OutcomeInserter/insertEventSQL``).
    func insert(_ outcome: CallOutcome) throws {
        // The batch keeps only failed outcomes in its errors; a success here would be a bug of ours.
        guard let error = outcome.error else { return }
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
        bind(14, outcome.timeToHeadersMs)
        bind(15, outcome.finalAttempt.map { Int64($0 ? 1 : 0) })
        bind(16, error.providerType)
        bind(17, error.providerCode)
        bind(18, error.retryAfterMs)
        bind(19, outcome.upstream)
        bind(20, outcome.provider)
        bind(21, outcome.host)
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "inserting an error event failed")
        }
    }
}
