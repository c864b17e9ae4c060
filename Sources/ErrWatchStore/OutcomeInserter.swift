import ErrWatchCore
import GRDB
import GRDBSQLite

/// Writes outcomes into an open write transaction: one `error_events` row per error, and the
/// call counts pre-aggregated so that each distinct (minute, series) costs one upsert however
/// many outcomes share it.
///
/// This is the hot path of recording. Its statements are GRDB's cached statements, bound and
/// stepped through SQLite's C API directly: GRDB's argument boxing cost about 40% of the rate.
struct OutcomeInserter {
    static let insertEventSQL = """
        INSERT INTO error_events (ts, app, endpoint, model, status, type, code, message, retryable, attempt, latency_ms, request_id, streamed)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
        """

    static func upsertCountSQL(table: String) -> String {
        """
        INSERT INTO \(table) (bucket, series, calls, latency_calls, latency_ms_sum) VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (bucket, series) DO UPDATE SET
            calls = calls + excluded.calls,
            latency_calls = latency_calls + excluded.latency_calls,
            latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum
        """
    }

    /// The minute and dimensions of one call-count row, before its series id is known.
    struct CountKey: Hashable {
        var bucket: Int64
        var series: SeriesKey

        /// Hashes the numbers and the length and edge bytes of each string, not every byte:
        /// this runs once per outcome, and full string hashing was a third of the recording
        /// cost. Keys that collide are still told apart by `==`, and a batch holds at most a
        /// few hundred keys, so collisions cost little.
        func hash(into hasher: inout Hasher) {
            var mixed = UInt64(bitPattern: bucket) &* 31 &+ UInt64(bitPattern: Int64(series.status))
            mixed = Self.mix(mixed, series.app)
            mixed = Self.mix(mixed, series.endpoint)
            mixed = Self.mix(mixed, series.model)
            mixed = Self.mix(mixed, series.type)
            mixed = Self.mix(mixed, series.code)
            hasher.combine(mixed)
        }

        @inline(__always)
        private static func mix(_ seed: UInt64, _ text: String) -> UInt64 {
            let bytes = text.utf8
            var value = (seed &* 0x100_0000_01B3) ^ UInt64(bytes.count)
            if let first = bytes.first, let last = bytes.last {
                value = (value &* 0x100_0000_01B3) ^ (UInt64(first) << 8 | UInt64(last))
            }
            return value
        }
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

    /// What one write added, and the series it created (to cache once it commits).
    struct Written {
        var outcomes = 0
        var errors = 0
        var newSeries: [SeriesKey: Int64] = [:]
    }

    /// Writes `outcomes` within the caller's transaction on `db`.
    static func insert(_ outcomes: [CallOutcome], into db: Database, cache: SeriesCache) throws -> Written {
        var written = Written()
        var counts: [CountKey: CountSums] = Dictionary(minimumCapacity: 512)
        let events = try Statement(cached: db, sql: insertEventSQL)
        // By index, not by value: copying an outcome would retain each of its strings.
        for index in outcomes.indices {
            let series = SeriesKey(
                app: outcomes[index].app, endpoint: outcomes[index].endpoint, model: outcomes[index].model,
                status: outcomes[index].status ?? 0, type: outcomes[index].error?.type.rawValue ?? "",
                code: outcomes[index].error?.code ?? "")
            let key = CountKey(bucket: Timestamp.floor(outcomes[index].timestamp, to: Timestamp.minute), series: series)
            let calls = Int64(outcomes[index].count)
            let latency = outcomes[index].latencyMs
            counts[key, default: CountSums()].add(CountSums(
                calls: calls, latencyCalls: latency == nil ? 0 : calls, latencySum: (latency ?? 0) * calls))
            written.outcomes += outcomes[index].count
            if outcomes[index].error != nil {
                try events.insert(outcomes[index])
                written.errors += 1
            }
        }
        written.newSeries = try upsert(counts, into: db, cache: cache)
        return written
    }

    /// Adds `counts` to the minute table, and to each rollup level whose watermark is past
    /// the minute (that level is complete there, so a late outcome must land in it too).
    /// Returns the series it had to create.
    static func upsert(_ counts: [CountKey: CountSums], into db: Database, cache: SeriesCache) throws -> [SeriesKey: Int64] {
        guard !counts.isEmpty else { return [:] }
        let (ids, created) = try seriesIDs(for: Set(counts.keys.map(\.series)), in: db, cache: cache)
        let marks = try Watermarks.read(db)
        var rows: [Rollup.Level: [Int64: [Int64: CountSums]]] = [:]
        for (key, sums) in counts {
            let series = ids[key.series]!
            rows[.minute, default: [:]][key.bucket, default: [:]][series, default: CountSums()].add(sums)
            if key.bucket < marks.hourly {
                rows[.hourly, default: [:]][Timestamp.floor(key.bucket, to: Timestamp.hour), default: [:]][series, default: CountSums()].add(sums)
            }
            if key.bucket < marks.daily {
                rows[.daily, default: [:]][Timestamp.floor(key.bucket, to: Timestamp.day), default: [:]][series, default: CountSums()].add(sums)
            }
        }
        for (level, buckets) in rows {
            let statement = try Statement(cached: db, sql: upsertCountSQL(table: Watermarks.table(level)))
            for (bucket, seriesSums) in buckets {
                for (series, sums) in seriesSums {
                    statement.bind(1, bucket)
                    statement.bind(2, series)
                    statement.bind(3, sums.calls)
                    statement.bind(4, sums.latencyCalls)
                    statement.bind(5, sums.latencySum)
                    try statement.step(db)
                }
            }
        }
        return created
    }

    /// The ids of `keys`, from the cache or the database, creating the series that are new.
    private static func seriesIDs(for keys: Set<SeriesKey>, in db: Database, cache: SeriesCache) throws -> (all: [SeriesKey: Int64], created: [SeriesKey: Int64]) {
        var ids = cache.lookup(keys)
        guard ids.count < keys.count else { return (ids, [:]) }
        var created: [SeriesKey: Int64] = [:]
        let insert = try Statement(cached: db, sql: """
            INSERT INTO series (app, endpoint, model, status, type, code) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            ON CONFLICT (app, endpoint, model, status, type, code) DO NOTHING
            """)
        for key in keys where ids[key] == nil {
            insert.bind(1, key.app)
            insert.bind(2, key.endpoint)
            insert.bind(3, key.model)
            insert.bind(4, Int64(key.status))
            insert.bind(5, key.type)
            insert.bind(6, key.code)
            try insert.step(db)
            let id = try Int64.fetchOne(db, sql: """
                SELECT id FROM series WHERE app = ? AND endpoint = ? AND model = ? AND status = ? AND type = ? AND code = ?
                """, arguments: [key.app, key.endpoint, key.model, key.status, key.type, key.code])!
            ids[key] = id
            created[key] = id
        }
        return (ids, created)
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

    /// Runs the statement once and resets it for the next bindings.
    func step(_ db: Database) throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// Binds and inserts one error row (see ``OutcomeInserter/insertEventSQL``).
    func insert(_ outcome: CallOutcome) throws {
        let error = outcome.error!
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
