import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import GRDB
import Testing

@Suite struct BatchWriterTests {
    /// Calls counted and error rows stored, straight from the tables.
    func stored(_ store: Store) throws -> (calls: Int, errors: Int) {
        try store.writer.read { db in
            (try Int.fetchOne(db, sql: "SELECT coalesce(sum(calls), 0) FROM call_counts")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM error_events")!)
        }
    }

    @Test func eightConcurrentProducersAreCountedExactly() async throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        let store = try Store.open(path: directory.path("writer.db"))
        let writer = BatchWriter(store: store)
        async let running: Void = writer.run()

        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<8 {
                group.addTask {
                    for index in 0..<10_000 {
                        let ts = midnight - Int64(index) * 10 - Int64(producer)
                        let outcome = index % 10 == 0
                            ? failure(ts, app: "app\(producer)", model: "m\(index % 3)")
                            : success(ts, app: "app\(producer)", model: "m\(index % 3)")
                        #expect(writer.submit(outcome))
                    }
                }
            }
        }
        await writer.shutdown()
        await running

        let statistics = writer.statistics
        #expect(statistics.accepted == 80_000)
        #expect(statistics.written == 80_000)
        #expect(statistics.errorsWritten == 8_000)
        #expect(statistics.dropped == 0 && statistics.queued == 0)
        #expect(statistics.batches >= 80)
        let (calls, errors) = try stored(store)
        #expect(calls == 80_000)
        #expect(errors == 8_000)
        let perApp = try store.rates(Filter(since: midnight - 3_600_000, until: midnight + 1), by: [.app])
        #expect(perApp.count == 8 && perApp.allSatisfy { $0.calls == 10_000 && $0.errors == 1_000 })
    }

    @Test func dropsAndCountsWhenTheQueueIsFull() async throws {
        let store = try Store.inMemory()
        var configuration = BatchWriter.Configuration()
        configuration.capacity = 100
        configuration.batchSize = 1_000
        let writer = BatchWriter(store: store, configuration: configuration)
        // The writer is not running yet, so nothing leaves the queue.
        let accepted = (0..<150).filter { writer.submit(success(midnight + Int64($0))) }.count
        #expect(accepted == 100)
        #expect(writer.statistics.droppedQueueFull == 50)
        #expect(writer.statistics.queued == 100)

        async let running: Void = writer.run()
        await writer.shutdown()
        await running
        #expect(writer.statistics.written == 100)
        #expect(try stored(store).calls == 100)
    }

    @Test func flushWritesWithoutWaitingForTheInterval() async throws {
        let store = try Store.inMemory()
        var configuration = BatchWriter.Configuration()
        configuration.flushInterval = .seconds(3_600)
        let writer = BatchWriter(store: store, configuration: configuration)
        async let running: Void = writer.run()
        for index in 0..<10 { writer.submit(failure(midnight + Int64(index))) }
        await writer.flush()
        #expect(try stored(store) == (10, 10))
        await writer.shutdown()
        await running
    }

    @Test func shutdownDrainsEverythingAccepted() async throws {
        let store = try Store.inMemory()
        var configuration = BatchWriter.Configuration()
        configuration.flushInterval = .seconds(3_600)
        configuration.batchSize = 200
        let writer = BatchWriter(store: store, configuration: configuration)
        async let running: Void = writer.run()
        for index in 0..<1_050 { writer.submit(success(midnight + Int64(index), count: 2)) }
        await writer.shutdown()
        await running
        #expect(try stored(store).calls == 2_100)
        #expect(writer.statistics.written == 1_050)
        #expect(!writer.submit(success(midnight)), "refused after shutdown")
        #expect(writer.statistics.droppedQueueFull == 1)
    }

    @Test func aLockedDatabaseDropsAfterRetriesAndRecordingResumesByItself() async throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        let path = directory.path("locked.db")
        var options = Store.Options()
        options.busyTimeout = .milliseconds(20)
        let store = try Store.open(path: path, options: options)
        var configuration = BatchWriter.Configuration()
        configuration.retryDelays = [.milliseconds(10), .milliseconds(10)]
        let writer = BatchWriter(store: store, configuration: configuration)
        async let running: Void = writer.run()

        // Another process-like connection holds the write lock.
        var holder = Configuration()
        holder.allowsUnsafeTransactions = true
        let other = try DatabaseQueue(path: path, configuration: holder)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        for index in 0..<5 { writer.submit(failure(midnight + Int64(index))) }
        await writer.flush()
        #expect(writer.statistics.droppedWriteFailed == 5)
        #expect(writer.statistics.failedWrites == 3)
        #expect(writer.statistics.written == 0)

        try await other.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
        for index in 0..<3 { writer.submit(failure(midnight + Int64(index))) }
        await writer.flush()
        #expect(writer.statistics.written == 3)
        #expect(try stored(store) == (3, 3))
        await writer.shutdown()
        await running
    }
}

@Suite struct ControlCharacterTests {
    /// A NUL in a dimension once made the series row unfindable and a force-unwrap crash the
    /// writer: now every field is cleaned where the outcome is made, and the row is written.
    @Test func aNulInEveryFieldIsRecordedNotACrash() throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        let store = try Store.open(path: directory.path("nul.db"))
        let nul = "a\u{0}b"
        let outcomes = [
            CallOutcome(timestamp: midnight, app: nul, endpoint: nul, model: nul, status: 429,
                        error: CallError(type: ErrorType(rawValue: nul), code: nul, message: nul, retryable: true), requestID: nul),
            success(midnight, app: nul, model: "\u{0}"),
        ]
        let summary = try store.record(outcomes)
        #expect(summary.outcomes == 2 && summary.errors == 1 && summary.dropped == 0)
        let rates = try store.rates(Filter(since: 0, until: midnight + Timestamp.hour), by: [.app, .model])
        #expect(Set(rates.map(\.group)) == [["a\u{FFFD}b", "a\u{FFFD}b"], ["a\u{FFFD}b", "\u{FFFD}"]])
        let nulRows = try store.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM series WHERE instr(app || model || code || type, char(0)) > 0")
        }
        #expect(nulRows == 0)
    }
}
