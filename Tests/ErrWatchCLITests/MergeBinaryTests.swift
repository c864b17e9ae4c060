import AsyncHTTPClient
import ErrWatchCore
import ErrWatchTestKit
import Foundation
import GRDB
import Testing

/// `errwatch merge` as a fleet's operator runs it, with the release build: two agents' files
/// (one still running) into one, every command on the merged file, merging again, and a merge
/// killed with SIGKILL half-way.
@Suite(.serialized) struct MergeBinaryTests {
    /// The release binary run to its end, off the cooperative pool: exit status and output.
    static func errwatchBinary(_ arguments: [String], environment: [String: String] = [:], input: [UInt8] = []) async throws -> (status: Int32, output: String) {
        try await Run.detached(try ReleaseBinary.url().path, arguments, environment: ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }, input: input)
    }

    /// Calls through the agent on `port` until `count` are answered.
    static func traffic(port: Int, client: HTTPClient, count: Int) async {
        let load = DurabilityTests.Load(port: port)
        let running = Task { await load.run(clients: 4, client: client) }
        _ = await eventually { load.answered >= count }
        load.stop()
        await running.value
    }

    /// Error rows and recorded calls in `database`, read without writing.
    static func contents(_ database: String) throws -> (errors: Int, calls: Int64, integrity: String) {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: database, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM error_events") ?? -1,
             try Int64.fetchOne(db, sql: "SELECT coalesce(sum(calls), 0) FROM call_counts") ?? -1,
             try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "")
        }
    }

    @Test func twoAgentsFilesOneStillRunningMergeIntoOneThatAnswersEveryCommand() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let (a, b, fleet) = (workspace.path("web-a.db"), workspace.path("web-b.db"), workspace.path("fleet.db"))
        let (mockA, agentA, portA) = try await DurabilityTests.start(database: a, agentArguments: ["--config", try workspace.write("a.yaml", "host_name: web-a\n")])
        defer { mockA.terminate() }
        let (mockB, agentB, portB) = try await DurabilityTests.start(database: b, agentArguments: ["--config", try workspace.write("b.yaml", "host_name: web-b\n")])
        defer { mockB.terminate() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        await Self.traffic(port: portA, client: client, count: 300)
        await Self.traffic(port: portB, client: client, count: 200)
        let (callsB, _, _) = try await DurabilityTests.stop(agentB, client: HTTPClient(eventLoopGroupProvider: .singleton), database: b)

        // web-a is still running: its file is merged as it is now, then again once it has stopped.
        let first = try await Self.errwatchBinary(["merge", "--into", fleet, a, b, "--format", "csv"])
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("\(a),web-a,false,") && first.output.contains("\(b),web-b,false,"), "\(first.output)")
        await Self.traffic(port: portA, client: client, count: 200)
        let (callsA, _, _) = try await DurabilityTests.stop(agentA, client: client, database: a)
        let again = try await Self.errwatchBinary(["merge", "--into", fleet, a, b, "--format", "csv"])
        #expect(again.status == 0 && again.output.contains("\(a),web-a,true,") && again.output.contains("\(b),web-b,true,0,0"), "\(again.output)")

        // The merged file holds every call and error of both, each under its host.
        let (errorsA, errorsB, merged) = (try Self.contents(a), try Self.contents(b), try Self.contents(fleet))
        #expect(merged.integrity == "ok")
        #expect(merged.calls == callsA + callsB && merged.errors == errorsA.errors + errorsB.errors,
                "merged \(merged.calls) calls, \(merged.errors) errors; sources \(callsA)+\(callsB), \(errorsA.errors)+\(errorsB.errors)")
        #expect(errorsA.errors > 0 && errorsB.errors > 0, "the fake upstream's mix gave both hosts errors")
        let byHost = try await Self.errwatchBinary(["rates", "--db", fleet, "--window", "1d", "--by", "host,model", "--format", "csv"])
        #expect(byHost.status == 0 && byHost.output.contains("web-a,gpt-4o,\(callsA),") && byHost.output.contains("web-b,gpt-4o,\(callsB),"), "\(byHost.output)")
        // Each host's rates in the merged file are its own file's, to the figure.
        for (source, host) in [(a, "web-a"), (b, "web-b")] {
            let own = try await Self.errwatchBinary(["rates", "--db", source, "--window", "1d", "--by", "model,type,code", "--format", "csv"])
            let inFleet = try await Self.errwatchBinary(["rates", "--db", fleet, "--window", "1d", "--by", "model,type,code", "--host", host, "--format", "csv"])
            #expect(own.status == 0 && own.output == inFleet.output, "\(host):\n\(own.output)\nin the merged file:\n\(inFleet.output)")
        }

        // Merging the same files once more changes nothing.
        let third = try await Self.errwatchBinary(["merge", "--into", fleet, a, b])
        #expect(third.status == 0)
        let after = try Self.contents(fleet)
        #expect(after.calls == merged.calls && after.errors == merged.errors)

        // Every command answers for the fleet.
        let errors = try await Self.errwatchBinary(["errors", "--db", fleet, "--since", "1d", "--limit", "100000", "--format", "csv"])
        #expect(errors.status == 0 && errors.output.split(whereSeparator: \.isNewline).count == merged.errors + 1)
        #expect(errors.output.contains(",web-a\r\n") && errors.output.contains(",web-b\r\n"), "\(errors.output.prefix(600))")
        let export = try await Self.errwatchBinary(["export", "--db", fleet, "--report", "rates", "--by", "host", "--since", "1d", "--output", workspace.path("fleet.csv")])
        #expect(export.status == 0, "\(export.output)")
        let exported = try String(contentsOfFile: workspace.path("fleet.csv"), encoding: .utf8)
        #expect(exported.contains("web-a,") && exported.contains("web-b,"), "\(exported)")
        let report = try await Self.errwatchBinary(["report", "--db", fleet, "--since", "1d", "--by", "host"])
        #expect(report.status == 0 && report.output.contains("web-a") && report.output.contains("web-b"), "\(report.output.prefix(800))")
        let trend = try await Self.errwatchBinary(["trend", "--db", fleet, "--since", "1h", "--host", "web-a"])
        #expect(trend.status == 0, "\(trend.output)")
        let config = try workspace.write("errwatch.yaml", """
            rules:
              - {name: fleet-errors, window: 1m, warning: 1%, group_by: [host]}
            """)
        // The calls are seconds old: the replay runs to a minute from now so that their minute is evaluated.
        let until = Timestamp.iso8601(Timestamp.now() + 2 * Timestamp.minute)
        let replay = try await Self.errwatchBinary(["alerts", "test", "--db", fleet, "--config", config, "--since", "7d", "--until", until])
        #expect(replay.status == 0 && replay.output.contains("web-a") && replay.output.contains("web-b"), "\(replay.output)")
    }

    @Test func aMergeKilledHalfWayLeavesTheTargetAsItWas() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let (small, big, fleet) = (workspace.path("small.db"), workspace.path("big.db"), workspace.path("fleet.db"))
        let now = Timestamp.now()
        func errors(_ count: Int, app: String) -> [UInt8] {
            Array((0..<count).map { n in
                let ts = Timestamp.iso8601(now - 3 * Timestamp.day + Int64(n) * 2_000)
                return #"{"ts":"\#(ts)","status":429,"app":"\#(app)","model":"gpt-4o","type":"rate_limit_exceeded","code":"rate_limit_exceeded","message":"Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 29\#(n)"}"#
            }.joined(separator: "\n").utf8)
        }
        let rows = 80_000
        for (database, host, count) in [(small, "web-small", 50), (big, "web-big", rows)] {
            let ingest = try await Self.errwatchBinary(["ingest", "--db", database, "-"], environment: ["ERRWATCH_HOST_NAME": host], input: errors(count, app: host))
            #expect(ingest.status == 0, "\(ingest.output)")
        }
        #expect(try await Self.errwatchBinary(["merge", "--into", fleet, small]).status == 0)
        let before = try Self.contents(fleet)
        #expect(before.errors == 50 && before.calls == 50)
        // An empty write-ahead log, so that the killed merge's pages are seen arriving in it.
        let queue = try DatabaseQueue(path: fleet)
        try await queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try queue.close()

        let merge = try RunningBinary(["merge", "--into", fleet, big], binary: try ReleaseBinary.url())
        let wal = fleet + "-wal"
        let size = { ((try? FileManager.default.attributesOfItem(atPath: wal))?[.size] as? Int) ?? 0 }
        // Killed once its transaction has written a megabyte of pages, well before it commits.
        #expect(await eventually(within: 60) { size() > 1 << 20 }, "the merge wrote nothing to the log")
        kill(merge.process.processIdentifier, SIGKILL)
        _ = await merge.exitStatus()
        #expect(merge.process.terminationReason == .uncaughtSignal, "the merge had ended before it was killed")

        let killed = try Self.contents(fleet)
        #expect(killed.integrity == "ok")
        #expect(killed.errors == before.errors && killed.calls == before.calls, "a killed merge left \(killed.errors) errors, \(killed.calls) calls")
        // Run again, the merge completes, as if the killed one had never started.
        let completed = try await Self.errwatchBinary(["merge", "--into", fleet, big, "--format", "csv"])
        #expect(completed.status == 0 && completed.output.contains(",web-big,false,\(rows),\(rows)"), "\(completed.output)")
        let after = try Self.contents(fleet)
        #expect(after.errors == 50 + rows && after.calls == Int64(50 + rows))
    }
}
