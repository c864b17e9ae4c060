import ErrWatchCore
@testable import ErrWatchStore
import ErrWatchTestKit
import Foundation
import GRDB
import Testing

@Suite struct MigrationTests {
    static let migrationsFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("migrations")

    @Test func everyMigrationFileIsRegisteredInOrder() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.migrationsFolder.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.map { String($0.dropLast(4)) } == Migrations.all.map(\.name))
        for (file, migration) in zip(files, Migrations.all) {
            let text = try String(contentsOf: Self.migrationsFolder.appendingPathComponent(file), encoding: .utf8)
            #expect(text == migration.sql, "the embedded \(migration.name) differs from \(file): rebuild")
        }
        for (index, file) in files.enumerated() {
            #expect(file.hasPrefix(String(format: "%04d_", index + 1)), "\(file) is out of sequence")
        }
    }

    @Test func migratesFromEmpty() throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        let store = try Store.open(path: directory.path("new.db"))
        #expect(try store.appliedMigrations() == Migrations.all.map(\.name))
        let journal = try store.writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        let foreignKeys = try store.writer.read { db in try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") }
        #expect(foreignKeys == true)
        let synchronous = try store.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 1, "NORMAL")
    }

    @Test(arguments: 0..<Migrations.all.count)
    func migratesFromEachEarlierVersionKeepingData(applied: Int) throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        let path = directory.path("old.db")
        let old = Store(writer: try DatabasePool(path: path))
        try old.migrate(upTo: applied)
        let canRecord = applied >= 1
        if canRecord {
            // Rows in the columns of version 1, which every later version keeps.
            try old.writer.write { db in
                try db.execute(sql: """
                    INSERT INTO series (id, app, endpoint, model, status, type, code) VALUES
                        (1, 'chat', 'chat/completions', 'gpt-4o', 429, 'rate_limit_error', 'rate_limit_exceeded'),
                        (2, 'chat', 'chat/completions', 'gpt-4o', 200, '', '');
                    INSERT INTO call_counts (bucket, series, calls, latency_calls, latency_ms_sum) VALUES (?, 1, 1, 1, 50), (?, 2, 1, 1, 100);
                    INSERT INTO error_events (ts, app, endpoint, model, status, type, code, message, retryable, attempt, latency_ms, request_id, streamed)
                    VALUES (?, 'chat', 'chat/completions', 'gpt-4o', 429, 'rate_limit_error', 'rate_limit_exceeded', 'slow down', 1, 0, 50, 'req_1', 0);
                    """, arguments: [midnight - 60_000, midnight - 60_000, midnight - 60_000])
            }
        }
        try (old.writer as! DatabasePool).close()

        let store = try Store.open(path: path)
        #expect(try store.appliedMigrations() == Migrations.all.map(\.name))
        let rows = try store.rates(Filter(since: midnight - 3_600_000, until: midnight), by: [])
        #expect(rows.first?.calls == (canRecord ? 2 : 0))
        #expect(rows.first?.errors == (canRecord ? 1 : 0))
        // The migrated file takes new writes, in every column.
        try store.record([failure(midnight - 30_000)])
        #expect(try store.errors(Filter(since: 0, until: midnight), limit: 10).events.count == (canRecord ? 2 : 1))
    }

    @Test func refusesADatabaseFromANewerErrwatchAndLeavesItUnchanged() throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        let path = directory.path("newer.db")
        do {
            let store = try Store.open(path: path)
            try store.writer.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
            }
            try (store.writer as! DatabasePool).close()
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: ErrWatchError(.database, "'\(path)' was written by a newer errwatch (schema migration '9999_from_the_future' is unknown to this version); upgrade errwatch to read it. The file was left unchanged.")) {
            try Store.open(path: path)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func refusesFilesThatAreNotErrwatchDatabases() throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        let text = directory.path("notes.txt")
        try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
        #expect(throws: ErrWatchError(.database, "'\(text)' is not an SQLite database; choose another --db.")) {
            try Store.open(path: text)
        }
        let other = directory.path("other.db")
        let queue = try DatabaseQueue(path: other)
        try queue.write { db in try db.execute(sql: "CREATE TABLE customers (id INTEGER)") }
        try queue.close()
        #expect(throws: ErrWatchError(.database, "'\(other)' is an SQLite database but not an errwatch one; choose another --db.")) {
            try Store.open(path: other)
        }
    }

    @Test func readersDoNotCreateDatabases() throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        var options = Store.Options()
        options.create = false
        let path = directory.path("missing.db")
        #expect(throws: ErrWatchError.self) { try Store.open(path: path, options: options) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

@Suite struct FilePermissionTests {
    /// The history holds error messages and request ids: the file and its WAL are the owner's only.
    @Test func aNewDatabaseAndItsWALAreReadableByTheOwnerOnly() throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        let path = directory.path("private.db")
        let store = try Store.open(path: path)
        try store.record([success(midnight)])
        for file in [path, path + "-wal", path + "-shm"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
            #expect(mode == 0o600, "\(file) has mode \(String(mode, radix: 8))")
        }
    }
}

@Suite struct ProviderFieldsMigrationTests {
    /// History recorded before the closed taxonomy: provider words as types. Version 6 maps them
    /// into the set, keeps each word as the provider type, and merges the series the mapping makes
    /// equal, adding their counts: every call and every error is still there.
    @Test func providerWordsStoredAsTypesMapIntoTheSetAndNothingIsLost() throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        let path = directory.path("v5.db")
        let old = Store(writer: try DatabasePool(path: path))
        try old.migrate(upTo: 5)
        let minute = midnight - 60_000
        try old.writer.write { db in
            try db.execute(sql: """
                INSERT INTO series (id, app, endpoint, model, status, type, code) VALUES
                    (1, 'chat', 'chat/completions', 'gpt-4o', 429, 'rate_limit_error', 'rate_limit_exceeded'),
                    (2, 'chat', 'chat/completions', 'gpt-4o', 429, 'tokens', 'rate_limit_exceeded'),
                    (3, 'chat', 'chat/completions', 'gpt-4o', 500, 'server_error', ''),
                    (4, 'chat', 'chat/completions', 'llama', 400, 'BadRequestError', '400'),
                    (5, 'chat', 'chat/completions', 'gpt-4o', 418, 'teapot', '');
                """)
            try db.execute(sql: """
                INSERT INTO call_counts (bucket, series, calls, latency_calls, latency_ms_sum) VALUES
                    (?1, 1, 3, 3, 30), (?1, 2, 4, 4, 40), (?1, 3, 1, 1, 10), (?1, 4, 2, 2, 20), (?1, 5, 1, 0, 0)
                """, arguments: [minute])
            try db.execute(sql: """
                INSERT INTO call_counts_hourly (bucket, series, calls, latency_calls, latency_ms_sum) VALUES (?1, 1, 3, 3, 30), (?1, 2, 4, 4, 40)
                """, arguments: [Timestamp.floor(minute, to: Timestamp.hour)])
            try db.execute(sql: """
                INSERT INTO error_events (ts, app, endpoint, model, status, type, code, message, retryable, attempt, streamed) VALUES
                    (?1, 'chat', 'chat/completions', 'gpt-4o', 429, 'tokens', 'rate_limit_exceeded', 'TPM', 1, 0, 0),
                    (?1, 'chat', 'chat/completions', 'gpt-4o', 500, 'server_error', '', 'boom', 1, 0, 0),
                    (?1, 'chat', 'chat/completions', 'llama', 400, 'BadRequestError', '400', 'bad', 0, 0, 0),
                    (?1, 'chat', 'chat/completions', 'gpt-4o', 418, 'teapot', '', 'short and stout', 0, 0, 0)
                """, arguments: [minute])
        }
        try (old.writer as! DatabasePool).close()

        let store = try Store.open(path: path)
        let (types, callsByType, hourly, errors) = try store.writer.read { db in
            (try String.fetchAll(db, sql: "SELECT DISTINCT type FROM series WHERE type <> '' ORDER BY type"),
             try Row.fetchAll(db, sql: "SELECT s.type, sum(c.calls) FROM call_counts c JOIN series s ON s.id = c.series GROUP BY s.type ORDER BY s.type")
                .map { "\($0[0] as String)=\($0[1] as Int)" },
             try Int.fetchOne(db, sql: "SELECT sum(calls) FROM call_counts_hourly") ?? 0,
             try Row.fetchAll(db, sql: "SELECT type, provider_type FROM error_events ORDER BY id").map { "\($0[0] as String)/\($0[1] as String)" })
        }
        #expect(types == ["internal_error", "invalid_request_error", "rate_limit_error", "unknown_error"])
        #expect(callsByType == ["internal_error=1", "invalid_request_error=2", "rate_limit_error=7", "unknown_error=1"])
        #expect(hourly == 7)
        #expect(errors == ["rate_limit_error/tokens", "internal_error/server_error", "invalid_request_error/BadRequestError", "unknown_error/teapot"])
        let integrity = try store.writer.read { db in try String.fetchOne(db, sql: "PRAGMA foreign_key_check") }
        #expect(integrity == nil)
    }
}

@Suite struct CloseTests {
    /// A closed store's file holds everything: the WAL is checkpointed into it and removed.
    @Test func closingLeavesOneWholeFile() throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        let path = directory.path("closed.db")
        let store = try Store.open(path: path)
        try store.record([success(midnight), failure(midnight)])
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        try store.close()
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "the WAL is still beside the file")
        #expect(!FileManager.default.fileExists(atPath: path + "-shm"))
        let reopened = try Store.open(path: path)
        #expect(try reopened.rates(Filter(since: 0, until: .max / 2), by: [])[0].calls == 2)
    }
}
