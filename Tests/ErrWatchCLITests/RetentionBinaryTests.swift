import AsyncHTTPClient
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import GRDB
import Testing

/// Retention run by a long-running agent (the release build), as a user runs it: old data
/// goes on the agent's own schedule while it keeps recording, the freed space goes back to the
/// file system, `/metrics` counts what went, and a query reaching further back says so.
@Suite(.serialized) struct RetentionBinaryTests {
    @Test func aRunningAgentPrunesOnItsScheduleAndGivesTheSpaceBack() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let database = workspace.path("retained.db")
        let config = try workspace.write("errwatch.yaml", "retain_errors: 2d\nprune_interval: 1s\n")
        let (mock, agent, port) = try await DurabilityTests.start(database: database, mix: "429=0%", agentArguments: ["--config", config])
        defer { mock.terminate() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let now = Timestamp.now()
        let message = String(repeating: "You exceeded your current quota, please check your plan and billing details. ", count: 8)
        // Two rounds of old errors, the second while the first is being pruned, and a few recent ones.
        for round in 0..<2 {
            for batch in 0..<10 {
                let events = (0..<100).map { n in
                    let ts = Timestamp.iso8601(now - 10 * Timestamp.day + Int64(round * 1_000 + batch * 100 + n) * 1_000)
                    return #"{"ts":"\#(ts)","status":429,"app":"old","model":"gpt-4o","type":"insufficient_quota","message":"\#(message)\#(round)-\#(batch)-\#(n)"}"#
                }
                let (status, reply) = try await HostileTextTests.post(client, port: port, "/api/v1/events", body: Array("[\(events.joined(separator: ","))]".utf8), headers: [])
                #expect(status == 202, "\(reply)")
            }
        }
        let recent = (0..<5).map { n in #"{"ts":"\#(Timestamp.iso8601(now - Timestamp.hour + Int64(n)))","status":500,"app":"new","model":"gpt-4o","type":"server_error"}"# }
        #expect(try await HostileTextTests.post(client, port: port, "/api/v1/events", body: Array("[\(recent.joined(separator: ","))]".utf8), headers: []).0 == 202)

        // Every old error goes, by the agent's own passes; the counts of those calls stay.
        let pruned = #"errwatch_pruned_rows_total{kind="errors",reason="age"} 2000"#
        #expect(await eventually(within: 30) { (try? await DurabilityTests.get(client, port: port, "/metrics").1.contains(pruned)) == true },
                "the agent did not prune the 2,000 old error rows")
        let metrics = try await DurabilityTests.get(client, port: port, "/metrics").1
        #expect(metrics.contains("errwatch_database_bytes "))

        // A query reaching before the cut says what is missing; what is kept is all there.
        let listed = await errwatch(["errors", "--db", database, "--since", "30d", "--limit", "100", "--format", "csv"], now: Timestamp.now())
        #expect(listed.exitCode == 0 && listed.stdout.split(whereSeparator: \.isNewline).count == 6, "\(listed.stdout)")
        #expect(listed.stderr.contains("note: error rows before ") && listed.stderr.contains("were deleted by retention (retain_errors)"))
        let rates = await errwatch(["rates", "--db", database, "--window", "30d", "--by", "app", "--format", "csv"], now: Timestamp.now())
        #expect(rates.stdout.contains("old,2000,") && rates.stdout.contains("new,5,"))

        let (calls, _, integrity) = try await DurabilityTests.stop(agent, client: client, database: database)
        #expect(calls == 2_005 && integrity == "ok")
        // The space went back to the file system: no free pages are left in the file.
        let queue = try DatabaseQueue(path: database)
        let (freePages, autoVacuum) = try await queue.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? -1, try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") ?? -1)
        }
        try queue.close()
        #expect(autoVacuum == 2 && freePages < 16, "\(freePages) free pages left")
    }
}
