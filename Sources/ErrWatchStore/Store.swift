import ErrWatchCore
import Foundation
import GRDB

/// errwatch's SQLite database: the error history (`error_events`) and the call counts that
/// every rate divides by (`call_counts` and its hourly and daily rollups).
///
/// A file database is a WAL `DatabasePool` (readers never wait for the writer); tests may use
/// ``inMemory()``. Opening migrates the schema, and refuses a file written by a newer errwatch.
public struct Store: Sendable {
    /// How durable a committed write is, as SQLite's `synchronous` pragma.
    public enum Synchronous: String, Sendable, CaseIterable {
        /// With WAL: a commit survives errwatch crashing or being killed; a power loss or OS
        /// crash may undo the last commits (never corrupt the file). The default.
        case normal = "NORMAL"
        /// A commit also survives power loss, at the cost of an fsync per transaction.
        case full = "FULL"
        /// No fsync at all: a power loss or OS crash may corrupt the file.
        case off = "OFF"
    }

    /// Options for opening a database file.
    public struct Options: Sendable {
        /// How long a write waits for another process's lock before failing.
        public var busyTimeout: Duration = .seconds(5)
        /// Durability of commits.
        public var synchronous: Synchronous = .normal
        /// Open without writing: no migration, no file created.
        public var readOnly = false
        /// Create the file when it does not exist.
        public var create = true

        /// The defaults: 5 s busy timeout, `synchronous=NORMAL`, read-write, create.
        public init() {}
    }

    /// The GRDB database behind the store.
    public let writer: any DatabaseWriter
    /// Series ids known to exist, shared by every copy of this store.
    let series = SeriesCache()
    /// Who waits for whom on the write lock: retention gives way to recording.
    public let writeLock = WriteLockPriority()
    /// The host recorded with outcomes that name none: the agent's `host_name`, by default
    /// this machine's host name (``machineHostName``).
    public var hostName = Store.machineHostName

    /// This machine's host name (`gethostname`), or `localhost` when it has none.
    public static let machineHostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }()

    /// Wraps a GRDB database; ``migrate()`` brings its schema up to date.
    init(writer: any DatabaseWriter) {
        self.writer = writer
    }

    /// Opens (and by default creates) the database at `path` and brings its schema up to date.
    public static func open(path: String, options: Options = Options()) throws -> Store {
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists, !options.create || options.readOnly {
            throw ErrWatchError(.database, "No database at '\(path)'; record outcomes first (errwatch ingest FILE) or point --db / ERRWATCH_DB at an errwatch database.")
        }
        var configuration = Configuration()
        configuration.readonly = options.readOnly
        configuration.busyMode = .timeout(options.busyTimeout.secondsValue)
        configuration.foreignKeysEnabled = true
        let synchronous = options.synchronous
        let readOnly = options.readOnly
        configuration.prepareDatabase { db in
            // A new file can give freed pages back (retention's incremental vacuum); this must
            // come before the first table, and before GRDB switches the file to WAL.
            if !exists, !db.configuration.readonly { try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL") }
            // GRDB switches the pool to WAL, which resets `synchronous`: set it again here.
            if !readOnly { try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)") }
        }
        do {
            if !exists {
                // The history holds error messages and request ids: readable by its owner only.
                // SQLite gives the -wal and -shm files the main file's permissions.
                let descriptor = Foundation.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
                if descriptor >= 0 { Foundation.close(descriptor) }
            }
            if exists {
                // Inspect before opening the pool: GRDB writes to a WAL database when it opens
                // one, and a file from a newer errwatch must be left exactly as it is.
                try refuseIfNotOurs(path: path)
                var inspection = Configuration()
                inspection.readonly = true
                let queue = try DatabaseQueue(path: path, configuration: inspection)
                defer { try? queue.close() }
                try queue.read { db in try checkVersion(db, path: path, requireCurrent: readOnly) }
            }
            let pool = try DatabasePool(path: path, configuration: configuration)
            let store = Store(writer: pool)
            if !readOnly { try store.migrate() }
            return store
        } catch let error as ErrWatchError {
            throw error
        } catch {
            throw ErrWatchError(.database, "Cannot open database '\(path)': \(describe(error)).")
        }
    }

    /// Closes the database so that its one file holds everything: the WAL is checkpointed into
    /// it and removed with the shared-memory file (when no other process has the database open).
    /// Every errwatch process calls this on a clean stop, so the file a user copies is whole.
    public func close() throws {
        try writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        guard let pool = writer as? DatabasePool else {
            try (writer as? DatabaseQueue)?.close()
            return
        }
        try pool.close()
        // GRDB closes the pool's writer before its read-only readers, so the last connection to
        // close cannot remove the WAL (a read-only one may not). One more connection, alone and
        // last, checkpoints and removes it.
        let last = try DatabaseQueue(path: pool.path)
        try last.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try last.close()
    }

    /// A consistent copy of the database at `path`, one file, made while it stays in use
    /// (SQLite's `VACUUM INTO`): the way to copy a live database, whose latest writes may still
    /// be in its `-wal` file. Refuses to overwrite a file that exists. The copy is readable by
    /// its owner only, as the database is.
    public func backup(to path: String) throws {
        // Created empty first, owner-only and only if new (VACUUM INTO fills an empty file).
        let descriptor = Foundation.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST { throw ErrWatchError(.invalidArgument, "'\(path)' exists already; give a new file to back up into.") }
            throw ErrWatchError(.invalidArgument, "Cannot create '\(path)': \(String(cString: strerror(errno)).lowercased()).")
        }
        Foundation.close(descriptor)
        do {
            try writer.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
        } catch {
            unlink(path)
            throw error
        }
    }

    /// A fresh, migrated in-memory database.
    public static func inMemory() throws -> Store {
        let store = Store(writer: try DatabaseQueue())
        try store.migrate()
        return store
    }

    /// Applies the migrations this database lacks; refuses one written by a newer errwatch.
    public func migrate() throws {
        try migrate(upTo: Migrations.all.count)
    }

    /// Applies migrations up to the first `count` (tests build older databases with it).
    func migrate(upTo count: Int) throws {
        try writer.read { db in try Self.checkVersion(db, path: writer.path, requireCurrent: false) }
        try Migrations.migrator(upTo: count).migrate(writer)
    }

    /// The names of the migrations applied to this database, in order.
    public func appliedMigrations() throws -> [String] {
        try writer.read { db in try Migrations.migrator().appliedMigrations(db) }
    }

    /// Throws when the database records a migration this errwatch does not know, or, when
    /// `requireCurrent`, lacks one it does know (a read-only open cannot migrate).
    private static func checkVersion(_ db: Database, path: String, requireCurrent: Bool) throws {
        let applied: [String]
        do {
            guard try db.tableExists("grdb_migrations") else {
                let empty = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'") ?? 0 == 0
                if requireCurrent, empty {
                    throw ErrWatchError(.database,
                        "'\(path)' holds no errwatch data: it is empty, or a live database's .db copied without its -wal file (copy a running agent's database with 'errwatch backup').")
                }
                if requireCurrent {
                    throw ErrWatchError(.database, "'\(path)' has no errwatch schema; run 'errwatch migrate' on it first.")
                }
                if try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'") ?? 0 > 0 {
                    throw ErrWatchError(.database, "'\(path)' is an SQLite database but not an errwatch one; choose another --db.")
                }
                return
            }
            applied = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        } catch let error as ErrWatchError {
            throw error
        } catch {
            throw ErrWatchError(.database, "Cannot read the schema of '\(path)': \(describe(error)).")
        }
        let known = Set(Migrations.all.map(\.name))
        if let newer = applied.first(where: { !known.contains($0) }) {
            throw ErrWatchError(.database,
                "'\(path)' was written by a newer errwatch (schema migration '\(newer)' is unknown to this version); upgrade errwatch to read it. The file was left unchanged.")
        }
        if requireCurrent, applied.count < known.count {
            throw ErrWatchError(.database, "'\(path)' has an older errwatch schema; run 'errwatch migrate' on it first.")
        }
    }

    /// Refuses a file that is not an SQLite database before GRDB writes WAL files beside it.
    private static func refuseIfNotOurs(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ErrWatchError(.database, "Cannot read '\(path)'; check its permissions.")
        }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        if !header.isEmpty, header != Data("SQLite format 3\0".utf8) {
            throw ErrWatchError(.database, "'\(path)' is not an SQLite database; choose another --db.")
        }
    }

    /// One line for an SQLite or I/O error.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return error.message ?? "SQLite error \(error.resultCode)"
        }
        return String(describing: error)
    }
}

extension Store {
    /// Throws unless the database takes a write now: takes the write lock and changes nothing.
    public func checkWritable() throws {
        try writer.write { db in try db.execute(sql: "UPDATE rollup_watermarks SET until_ms = until_ms WHERE 0") }
    }

}
