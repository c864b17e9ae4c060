import ErrWatchCore
@testable import ErrWatchStore
import ErrWatchTestKit
import Foundation
import GRDB
import Synchronization
import Testing

/// `errwatch merge`: many hosts' files into one, exactly, idempotently, consistently.
@Suite struct MergeTests {
    static let hour = Timestamp.hour

    /// A file database at `name` recording as `host`.
    private func source(_ workspace: Workspace, _ name: String, host: String) throws -> Store {
        var store = try Store.open(path: workspace.path(name))
        store.hostName = host
        try store.claimIdentity()
        return store
    }

    /// Traffic of one host: every five minutes over `hours` hours before `end`, successes with
    /// latencies and streams, and rate-limit errors on one model.
    private func traffic(hours: Int, end: Int64, seed: Int) -> [CallOutcome] {
        var outcomes: [CallOutcome] = []
        var step = 0
        var at = end - Int64(hours) * Self.hour
        while at < end {
            step += 1
            let model = step % 3 == 0 ? "claude" : "gpt-4o"
            var ok = CallOutcome(timestamp: at, app: "chat", endpoint: "chat/completions", model: model, provider: "openai",
                                 status: 200, latencyMs: Int64(100 + (step * seed) % 3_000), count: 1 + (step + seed) % 4)
            if step % 2 == 0 {
                ok.streamed = true
                ok.count = 1
                ok.timeToFirstTokenMs = Int64(50 + (step * 7) % 900)
                ok.chunks = 12
            }
            outcomes.append(ok)
            if (step + seed) % 5 == 0 {
                outcomes.append(CallOutcome(timestamp: at + 1_000, app: "chat", endpoint: "chat/completions", model: model, provider: "openai", status: 429,
                                            error: CallError(type: .rateLimit, code: "rate_limit_exceeded", message: "slow down \(step)", retryable: true),
                                            latencyMs: 40))
            }
            at += 5 * Timestamp.minute
        }
        return outcomes
    }

    /// Everything a user reads from a file, for one host: rates by model (with timings) over the
    /// whole range, the hourly trend, and the error rows.
    private func view(_ store: Store, host: String, since: Int64, until: Int64) throws -> [String] {
        var filter = Filter(since: since, until: until)
        filter.hosts = [host]
        let rates = try store.rates(filter, by: [.model], timings: true).map { row in
            "\(row.group) \(row.counts.calls) \(row.counts.errors) \(row.timings?.p50LatencyMs ?? -1) \(row.timings?.p95FirstTokenMs ?? -1) \(row.timings?.streams ?? -1)"
        }
        let trend = try store.trend(filter, bucketMs: Self.hour, by: []).flatMap { $0.points.map { "\($0.start) \($0.calls) \($0.errors)" } }
        let errors = try store.errors(filter, limit: 100_000).events.map { "\($0.outcome.timestamp) \($0.outcome.host) \($0.error.message)" }
        return rates.sorted() + trend + errors
    }

    /// Every count row of the file, summed per level and series' dimensions: what a merge must
    /// leave unchanged when it has nothing new.
    private func dump(_ store: Store) throws -> [String] {
        try store.writer.read { db in
            var lines: [String] = []
            for table in ["call_counts", "call_counts_hourly", "call_counts_daily"] {
                lines += try String.fetchAll(db, sql: """
                    SELECT '\(table) ' || c.bucket || ' ' || s.host || ' ' || s.model || ' ' || s.status || ' ' || c.calls || ' ' || c.latency_ms_sum || ' ' || c.streamed_calls
                    FROM \(table) c JOIN series s ON s.id = c.series WHERE c.calls <> 0 ORDER BY 1
                    """)
            }
            lines += try String.fetchAll(db, sql: "SELECT level || ' ' || until_ms FROM rollup_watermarks ORDER BY 1")
            lines.append("errors \(try Int.fetchOne(db, sql: "SELECT count(*) FROM error_events") ?? 0)")
            return lines
        }
    }

    @Test func aMergedFileAnswersForEachHostAsItsOwnFileDoes() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let a = try source(workspace, "a.db", host: "web-a")
        let b = try source(workspace, "b.db", host: "web-b")
        try a.record(traffic(hours: 30, end: midnight, seed: 1))
        try b.record(traffic(hours: 5, end: midnight - 2 * Self.hour, seed: 2))
        try a.rollUp(now: midnight)
        var fleet = try Store.open(path: workspace.path("fleet.db"))
        fleet.hostName = "fleet"

        let first = try fleet.merge(from: workspace.path("a.db"), now: midnight)
        let second = try fleet.merge(from: workspace.path("b.db"), now: midnight)
        #expect(first.host == "web-a" && !first.again && first.errors > 0)
        #expect(second.host == "web-b" && second.calls > 0)
        let since = midnight - 40 * Self.hour
        #expect(try view(fleet, host: "web-a", since: since, until: midnight) == view(a, host: "web-a", since: since, until: midnight))
        #expect(try view(fleet, host: "web-b", since: since, until: midnight) == view(b, host: "web-b", since: since, until: midnight))
        let all = try fleet.rates(Filter(since: since, until: midnight), by: [])[0].counts
        let own = try [a, b].map { try $0.rates(Filter(since: since, until: midnight), by: [])[0].counts }
        #expect(all.calls == own[0].calls + own[1].calls)
        #expect(all.errors == own[0].errors + own[1].errors)
    }

    @Test func mergingTheSameFileAgainChangesNothing() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let a = try source(workspace, "a.db", host: "web-a")
        try a.record(traffic(hours: 6, end: midnight, seed: 3))
        let fleet = try Store.open(path: workspace.path("fleet.db"))
        _ = try fleet.merge(from: workspace.path("a.db"), now: midnight)
        let before = try dump(fleet)
        let again = try fleet.merge(from: workspace.path("a.db"), now: midnight)
        #expect(again.again && again.errors == 0 && again.calls == 0)
        #expect(try dump(fleet) == before)
        // A copy of the file is the same source.
        try a.backup(to: workspace.path("a-copy.db"))
        _ = try fleet.merge(from: workspace.path("a-copy.db"), now: midnight)
        #expect(try dump(fleet) == before)
    }

    @Test func aLaterCopyAddsOnlyWhatIsNewIncludingLateOutcomesInTheOpenHour() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let a = try source(workspace, "a.db", host: "web-a")
        try a.record(traffic(hours: 4, end: midnight - Self.hour, seed: 4))
        let fleet = try Store.open(path: workspace.path("fleet.db"))
        _ = try fleet.merge(from: workspace.path("a.db"), now: midnight - Self.hour)

        // The agent goes on: a stream that began 20 minutes before the newest minute ends now
        // (recorded under the minute it began), new traffic, and a new error.
        try a.record([CallOutcome(timestamp: midnight - Self.hour - 20 * Timestamp.minute, app: "chat", endpoint: "chat/completions",
                                  model: "gpt-4o", provider: "openai", status: 200, latencyMs: 200_000, streamed: true)])
        try a.record(traffic(hours: 1, end: midnight, seed: 5))
        let later = try fleet.merge(from: workspace.path("a.db"), now: midnight)
        #expect(later.again && later.errors > 0)
        let since = midnight - 10 * Self.hour
        #expect(try view(fleet, host: "web-a", since: since, until: midnight) == view(a, host: "web-a", since: since, until: midnight))
    }

    @Test func countsTheSourceKeepsOnlyHourlyAreMergedAsHourly() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let a = try source(workspace, "a.db", host: "web-a")
        try a.record(traffic(hours: 72, end: midnight, seed: 6))
        try a.rollUp(now: midnight)
        var policy = RetentionPolicy()
        policy.errorsMs = nil
        policy.rollupsMs = nil
        policy.alertsMs = nil
        policy.minuteCountsMs = Timestamp.day
        let pruned = try a.prune(policy, now: midnight, rest: 0)
        #expect(pruned.cuts.map(\.kind) == [.minuteCounts])

        let fleet = try Store.open(path: workspace.path("fleet.db"))
        _ = try fleet.merge(from: workspace.path("a.db"), now: midnight)
        let since = midnight - 3 * Timestamp.day
        #expect(try view(fleet, host: "web-a", since: since, until: midnight) == view(a, host: "web-a", since: since, until: midnight))
        #expect(try fleet.retentionHorizons()[.minuteCounts] == a.retentionHorizons()[.minuteCounts])
    }

    @Test func rowsRecordedBeforeHostsTakeTheSourcesNameAndAHostGivenSticks() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        var a = try Store.open(path: workspace.path("old-box.db"))
        a.hostName = ""
        try a.record(traffic(hours: 2, end: midnight, seed: 7))
        let fleet = try Store.open(path: workspace.path("fleet.db"))
        #expect(try fleet.merge(from: workspace.path("old-box.db"), now: midnight).host == "old-box", "the file's name, its agent having none")
        var filter = Filter(since: midnight - 3 * Self.hour, until: midnight)
        #expect(try fleet.rates(filter, by: [.host]).map(\.group) == [["old-box"]])
        filter.hosts = ["old-box"]
        #expect(try fleet.errors(filter, limit: 1).events.first?.outcome.host == "old-box")
        #expect(throws: ErrWatchError.self) { try fleet.merge(from: workspace.path("old-box.db"), host: "other", now: midnight) }
    }

    @Test func aSourcesRowsFromBeforeAndAfterItsHostWasNamedAddUpMinuteByMinute() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        // The same minutes recorded twice: first by an agent with no host, then as "box".
        var a = try Store.open(path: workspace.path("a.db"))
        a.hostName = ""
        try a.record(traffic(hours: 3, end: midnight, seed: 6))
        a.hostName = "box"
        try a.claimIdentity()
        try a.record(traffic(hours: 3, end: midnight, seed: 6))
        // What a merge must give: the same traffic twice, as "box" all along.
        let reference = try source(workspace, "reference.db", host: "box")
        try reference.record(traffic(hours: 3, end: midnight, seed: 6) + traffic(hours: 3, end: midnight, seed: 6))
        // A target whose rollups are done, so the merged minutes are added as late ones to the
        // hourly and daily rows too.
        let fleet = try source(workspace, "fleet.db", host: "fleet")
        try fleet.record(traffic(hours: 30, end: midnight, seed: 1))
        try fleet.rollUp(now: midnight)

        #expect(try fleet.merge(from: workspace.path("a.db"), now: midnight).host == "box")
        let since = midnight - 40 * Self.hour
        #expect(try view(fleet, host: "box", since: since, until: midnight) == view(reference, host: "box", since: since, until: midnight))
        let boxOnly = { (store: Store) in
            try self.dump(store).filter { $0.contains(" box ") }
        }
        try reference.rollUp(now: midnight)
        #expect(try boxOnly(fleet) == boxOnly(reference), "each level's rows for box, summed as one series")
    }

    @Test func aMergeThatFailsHalfWayLeavesTheTargetAsItWas() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let a = try source(workspace, "a.db", host: "web-a")
        let b = try source(workspace, "b.db", host: "web-b")
        try a.record(traffic(hours: 3, end: midnight, seed: 8))
        try b.record(traffic(hours: 3, end: midnight, seed: 9))
        let fleet = try Store.open(path: workspace.path("fleet.db"))
        _ = try fleet.merge(from: workspace.path("a.db"), now: midnight)
        let before = try dump(fleet)
        // The disk "fills" once b's error rows are in and its counts are being added.
        try fleet.writer.writeWithoutTransaction { db in
            try db.execute(sql: """
                CREATE TEMP TRIGGER fail_midway BEFORE INSERT ON main.call_counts
                WHEN (SELECT count(*) FROM main.error_events WHERE host = 'web-b') > 0
                BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END
                """)
        }
        #expect(throws: (any Error).self) { try fleet.merge(from: workspace.path("b.db"), now: midnight) }
        #expect(try dump(fleet) == before)
        #expect(try fleet.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM merged_sources") } == 1)
        try fleet.writer.writeWithoutTransaction { db in try db.execute(sql: "DROP TRIGGER temp.fail_midway") }
        _ = try fleet.merge(from: workspace.path("b.db"), now: midnight)
        let since = midnight - 4 * Self.hour
        #expect(try view(fleet, host: "web-b", since: since, until: midnight) == view(b, host: "web-b", since: since, until: midnight))
    }

    @Test func aSourceBeingWrittenMergesConsistentlyAndTheLastMergeCatchesUp() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let a = try source(workspace, "a.db", host: "web-a")
        let writer = BatchWriter(store: a)
        let runner = Task.detached { await writer.run() }
        let fleet = try Store.open(path: workspace.path("fleet.db"))
        let outcomes = traffic(hours: 24, end: midnight, seed: 10)
        let done = LockedValue(false)
        let feeder = Task.detached {
            defer { done.withLock { $0 = true } }
            for (index, outcome) in outcomes.enumerated() {
                writer.submit(outcome)
                if index % 5 == 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
        }
        // Merged again and again while the agent writes: each merge a consistent snapshot. The
        // loop blocks its thread, so it runs on one of its own, never on the cooperative pool the
        // writer and the feeder need.
        let sourcePath = workspace.path("a.db")
        let merges = try await Run.onThreadOfItsOwn {
            var merges = 0
            while !done.withLock({ $0 }) {
                _ = try fleet.merge(from: sourcePath, now: midnight)
                merges += 1
            }
            return merges
        }
        try await feeder.value
        await writer.flush()
        writer.beginShutdown()
        await runner.value
        _ = try fleet.merge(from: workspace.path("a.db"), now: midnight)
        let since = midnight - 25 * Self.hour
        #expect(merges >= 3, "the merges ran while the source was written")
        #expect(try view(fleet, host: "web-a", since: since, until: midnight) == view(a, host: "web-a", since: since, until: midnight))
    }
}
