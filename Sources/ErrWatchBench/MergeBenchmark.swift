import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation
import GRDB
import GRDBSQLite

/// `errwatch bench merge`: a fleet's files merged into one. One file of `rows` error rows over
/// `days` days is generated (as bench query does) and copied into `files` hosts' databases
/// (each its own identity and host); `errwatch merge` then runs as its own process, once into a
/// new file and once more over the same files (nothing new: the idempotent case). The baseline
/// is bare SQLite moving the same rows (series, error rows, minute, hourly and daily counts)
/// between the same files, attached, by `INSERT … SELECT`, one transaction per file: the floor
/// of any merge.
public struct MergeBenchmark: Sendable {
    /// The errwatch binary that merges.
    public var binary: String
    public var files: Int
    public var rows: Int
    public var days: Int
    /// A folder to keep the sources in (reused when they exist).
    public var keep: String?
    /// Merges (and baselines) to time; medians are printed.
    public var runs: Int

    public init(binary: String, files: Int, rows: Int, days: Int, keep: String?, runs: Int = 1) {
        self.binary = binary
        self.files = files
        self.rows = rows
        self.days = days
        self.keep = keep
        self.runs = runs
    }

    public func run(now: Int64, progress: (String) -> Void) async throws -> Report {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("errwatch-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let folder = keep.map { URL(fileURLWithPath: $0) } ?? scratch
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let sources = (1...files).map { folder.appendingPathComponent("host-\($0).db").path }
        if !sources.allSatisfy(FileManager.default.fileExists(atPath:)) {
            for source in sources { try? FileManager.default.removeItem(atPath: source) }
            let first = try Store.open(path: sources[0])
            let took = try await Measure.seconds { try QueryBenchmark.generate(into: first, rows: rows, days: days, now: now) }
            progress(String(format: "generated %d error rows over %d days in %.0f s", rows, days, took))
            for source in sources.dropFirst() { try first.backup(to: source) }
            try first.close()
            for (index, source) in sources.enumerated() { try Self.rename(source, host: "host-\(index + 1)") }
            progress("copied it into \(files) hosts' files")
        }
        let sourceBytes = try sources.reduce(Int64(0)) { $0 + (try RetentionBenchmark.fileSize($1)) }
        let countRows = try sources.reduce(0) { $0 + (try Self.countRows($1)) }

        // Each run: a merge into a new file, the same merge again (nothing new), then the
        // baseline into a new file of its own; medians over the runs.
        let fleet = scratch.appendingPathComponent("fleet.db").path
        let baselinePath = scratch.appendingPathComponent("baseline.db").path
        var merges: [Double] = [], remerges: [Double] = [], baselines: [Double] = []
        var peakKiB = 0, againPeakKiB = 0, total = 0, fleetBytes: Int64 = 0
        for run in 1...runs {
            for path in [fleet, baselinePath] { try Self.remove(path) }
            let first = try merge(into: fleet, sources)
            progress(String(format: "run %d: merged %d files in %.1f s, peak RSS %.0f MiB", run, files, first.seconds, Double(first.peakKiB) / 1_024))
            let again = try merge(into: fleet, sources)
            progress(String(format: "run %d: merged them again (nothing new) in %.1f s", run, again.seconds))
            total = try Self.errorRows(fleet)
            guard total == rows * files else {
                throw BenchFailure("The merged file holds \(total) error rows, not \(rows * files).")
            }
            fleetBytes = try RetentionBenchmark.fileSize(fleet)
            let baseline = try await Measure.seconds { try Self.bareCopy(into: baselinePath, sources) }
            progress(String(format: "run %d: bare SQLite moved the same rows (error and count rows) in %.1f s", run, baseline))
            merges.append(first.seconds); remerges.append(again.seconds); baselines.append(baseline)
            peakKiB = max(peakKiB, first.peakKiB); againPeakKiB = max(againPeakKiB, again.peakKiB)
        }
        let (merged, remerged, baseline) = (Measure.median(merges), Measure.median(remerges), Measure.median(baselines))
        let rate = { (seconds: Double) in Double(total) / max(seconds, 0.001) }
        return Report(
            columns: ["run", "files", "error_rows", "source_count_rows", "seconds", "rows_per_s", "peak_rss_mib", "source_mib", "merged_mib", "vs_bare_sqlite"],
            rows: [
                [.text("errwatch merge, new file"), .integer(Int64(files)), .integer(Int64(total)), .integer(Int64(countRows)), .number(merged, digits: 1),
                 .number(rate(merged), digits: 0), .number(Double(peakKiB) / 1_024, digits: 0),
                 .number(Double(sourceBytes) / 1_048_576, digits: 0), .number(Double(fleetBytes) / 1_048_576, digits: 0),
                 .number(baseline / merged, digits: 2)],
                [.text("errwatch merge, again (nothing new)"), .integer(Int64(files)), .integer(0), .integer(0), .number(remerged, digits: 1),
                 .null, .number(Double(againPeakKiB) / 1_024, digits: 0), .null, .null, .null],
                [.text("bare SQLite INSERT … SELECT"), .integer(Int64(files)), .integer(Int64(total)), .integer(Int64(countRows)), .number(baseline, digits: 1),
                 .number(rate(baseline), digits: 0), .null, .null, .null, .number(1, digits: 2)],
            ])
    }

    /// Removes a database file and its write-ahead log, if they exist.
    private static func remove(_ path: String) throws {
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            try FileManager.default.removeItem(atPath: file)
        }
    }

    /// Gives the copy at `path` an identity and host of its own: another host's file.
    private static func rename(_ path: String, host: String) throws {
        let store = try Store.open(path: path)
        try store.writer.write { db in
            try db.execute(sql: "UPDATE store_identity SET id = lower(hex(randomblob(16))), host = ?", arguments: [host])
        }
        try store.close()
    }

    /// Error rows in the file at `path`.
    private static func errorRows(_ path: String) throws -> Int {
        try count(path, "SELECT count(*) FROM error_events")
    }

    /// Minute, hourly and daily count rows in the file at `path`.
    private static func countRows(_ path: String) throws -> Int {
        try count(path, "SELECT (SELECT count(*) FROM call_counts) + (SELECT count(*) FROM call_counts_hourly) + (SELECT count(*) FROM call_counts_daily)")
    }

    private static func count(_ path: String, _ sql: String) throws -> Int {
        let store = try Store.open(path: path)
        defer { try? store.close() }
        return try store.writer.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
    }

    /// Runs `errwatch merge` as its own process: its wall time and peak resident set.
    private func merge(into target: String, _ sources: [String]) throws -> (seconds: Double, peakKiB: Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["merge", "--into", target, "--format", "csv"] + sources
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let started = ContinuousClock.now
        try process.run()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let seconds = (ContinuousClock.now - started).secondsValue
        guard process.terminationStatus == 0 else { throw BenchFailure("errwatch merge failed:\n\(said)") }
        // The largest resident set of any child waited for: the merges are the only children.
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        return (seconds, usage.ru_maxrss)
    }

    /// The baseline: a fresh file with errwatch's schema, and each source's rows moved into it
    /// by SQLite alone, one transaction per file: its series (ids shifted clear of the other
    /// files', host set), its error rows, and its minute, hourly and daily count rows as they
    /// are, by `INSERT … SELECT` of every column the schema has. The same rows a merge writes,
    /// without matching series or adding to counts: the floor of any merge.
    static func bareCopy(into path: String, _ sources: [String]) throws {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK else {
            throw BenchFailure("Cannot open the baseline database at \(path).")
        }
        defer { sqlite3_close_v2(db) }
        func exec(_ sql: String) throws {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
                throw BenchFailure("Baseline SQL failed: \(String(cString: sqlite3_errmsg(db))).")
            }
        }
        func columns(_ table: String) throws -> [String] {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('\(table)') ORDER BY cid", -1, &statement, nil) == SQLITE_OK else {
                throw BenchFailure("Baseline SQL failed: \(String(cString: sqlite3_errmsg(db))).")
            }
            defer { sqlite3_finalize(statement) }
            var names: [String] = []
            while sqlite3_step(statement) == SQLITE_ROW { names.append(String(cString: sqlite3_column_text(statement, 0))) }
            return names
        }
        try exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        for migration in Migrations.all { try exec(migration.sql) }
        let series = try columns("series").filter { $0 != "id" && $0 != "host" }.joined(separator: ", ")
        let errors = try columns("error_events").filter { $0 != "id" }.joined(separator: ", ")
        let counts = try columns("call_counts").filter { $0 != "bucket" && $0 != "series" }.joined(separator: ", ")
        for (index, source) in sources.enumerated() {
            let shift = (index + 1) * 1_000_000_000
            let host = "host-\(index + 1)"
            try exec("ATTACH DATABASE '\(source.replacingOccurrences(of: "'", with: "''"))' AS source")
            var sql = "BEGIN;"
            sql += "INSERT INTO series (id, host, \(series)) SELECT id + \(shift), '\(host)', \(series) FROM source.series;"
            sql += "INSERT INTO error_events (\(errors)) SELECT \(errors) FROM source.error_events ORDER BY id;"
            for table in ["call_counts", "call_counts_hourly", "call_counts_daily"] {
                sql += "INSERT INTO \(table) (bucket, series, \(counts)) SELECT bucket, series + \(shift), \(counts) FROM source.\(table);"
            }
            try exec(sql + "COMMIT;")
            try exec("DETACH DATABASE source")
        }
    }
}
