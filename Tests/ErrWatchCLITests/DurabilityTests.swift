import AsyncHTTPClient
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The durability promise, proved on the built binaries as separate processes: kill -9 under
/// load, SIGTERM under load, the database locked by another process, a full file system.
/// Traffic always flows; what is lost is within the promise and counted. (A read-only database
/// is in RecordingFailureTests: a file system cannot be made read-only under open writers.)
@Suite(.serialized) struct DurabilityTests {
    /// Concurrent clients sending chat completions through the agent until stopped.
    final class Load: Sendable {
        private struct State { var answered = 0; var answeredAt: [ContinuousClock.Instant] = []; var failed = 0; var stop = false }
        private let state = Mutex(State())
        let port: Int

        init(port: Int) { self.port = port }

        var answered: Int { state.withLock { $0.answered } }
        var failed: Int { state.withLock { $0.failed } }
        /// Requests answered before `instant`.
        func answered(before instant: ContinuousClock.Instant) -> Int { state.withLock { $0.answeredAt.filter { $0 < instant }.count } }
        func stop() { state.withLock { $0.stop = true } }

        /// Runs `clients` clients until ``stop()``; each request that gets a response counts as answered.
        func run(clients: Int, client: HTTPClient) async {
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<clients {
                    group.addTask {
                        var number = 0
                        while !self.state.withLock({ $0.stop }) {
                            number += 1
                            var request = HTTPClientRequest(url: "http://127.0.0.1:\(self.port)/v1/chat/completions")
                            request.method = .POST
                            request.headers.add(name: "authorization", value: "Bearer sk-test-0123456789abcdef")
                            request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o","n":"\#(index)-\#(number)"}"#))
                            do {
                                let response = try await client.execute(request, timeout: .seconds(30))
                                _ = try await response.body.collect(upTo: 1 << 20)
                                self.state.withLock {
                                    $0.answered += 1
                                    $0.answeredAt.append(.now)
                                }
                            } catch {
                                self.state.withLock { $0.failed += 1 }
                                // The agent is gone (killed or stopped): stop this client.
                                return
                            }
                        }
                    }
                }
            }
        }
    }

    /// A fake upstream and an agent recording into `database`, as separate processes.
    /// Both run the release build, as users do.
    static func start(database: String, mix: String = "429=10%,500=5%", launcher: [String] = [], agentArguments: [String] = []) async throws -> (mock: RunningBinary, agent: RunningBinary, port: Int) {
        let binary = try ReleaseBinary.url()
        let mock = try RunningBinary(["mock-upstream", "--listen", "127.0.0.1:0", "--mix", mix], binary: binary)
        let upstream = try #require(await mock.listeningPort(marker: "mock upstream listening"))
        let agent = try RunningBinary(["agent", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(upstream)/v1", "--db", database] + agentArguments,
                                      binary: binary, launcher: launcher)
        let port = try #require(await agent.listeningPort(marker: "errwatch agent listening"))
        return (mock, agent, port)
    }

    /// The calls recorded in `database`, and the result of `PRAGMA integrity_check`.
    static func recorded(_ database: String) throws -> (calls: Int64, integrity: String) {
        let store = try Store.open(path: database)
        let calls = try store.rates(Filter(since: 0, until: Int64.max / 2), by: []).first?.calls ?? 0
        let integrity = try store.writer.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") } ?? ""
        return (calls, integrity)
    }

    /// A GET on the agent: status and body.
    static func get(_ client: HTTPClient, port: Int, _ path: String) async throws -> (Int, String) {
        let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(10))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 22)))
    }

    static func dropped(_ metrics: String) -> Int {
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("errwatch_writer_dropped_total ") }
        return line.flatMap { Int($0.split(separator: " ").last!) } ?? 0
    }

    /// The binaries on a fresh database with four clients under way, once 1,000 calls are answered.
    struct UnderLoad {
        let database: String
        let mock: RunningBinary
        let agent: RunningBinary
        let client: HTTPClient
        let load: Load
        let running: Task<Void, Never>

        init(_ workspace: Workspace) async throws {
            let database = workspace.path("agent.db")
            let (mock, agent, port) = try await DurabilityTests.start(database: database)
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let load = Load(port: port)
            (self.database, self.mock, self.agent, self.client, self.load) = (database, mock, agent, client, load)
            running = Task { await load.run(clients: 4, client: client) }
            #expect(await eventually { load.answered >= 1_000 })
        }

        /// Stops the clients (the agent is gone or going).
        func stopLoad() async {
            load.stop()
            await running.value
        }
    }

    @Test func killNineUnderLoadKeepsEverythingButTheLastMoment() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let setup = try await UnderLoad(workspace)
        defer { setup.mock.terminate() }
        let (agent, load, database) = (setup.agent, setup.load, setup.database)
        let killedAt = ContinuousClock.now
        kill(agent.process.processIdentifier, SIGKILL)
        _ = await agent.exitStatus()
        await setup.stopLoad()
        try await setup.client.shutdown()

        let (calls, integrity) = try Self.recorded(database)
        #expect(integrity == "ok")
        // Nothing invented, and everything answered more than a second before the kill is there
        // (the promise is the last 100 ms flush interval; a second absorbs a loaded machine).
        #expect(calls <= Int64(load.answered))
        #expect(calls >= Int64(load.answered(before: killedAt - .seconds(1))), "recorded \(calls) of \(load.answered)")
    }

    @Test func sigtermUnderLoadLosesNothing() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let setup = try await UnderLoad(workspace)
        defer { setup.mock.terminate() }
        let (agent, load, database) = (setup.agent, setup.load, setup.database)
        // Stop while requests are in flight: they finish, new ones are refused, all answered are written.
        agent.terminate()
        #expect(await agent.exitStatus() == 0)
        await setup.stopLoad()
        try await setup.client.shutdown()
        let (calls, integrity) = try Self.recorded(database)
        #expect(integrity == "ok")
        #expect(calls == Int64(load.answered))
    }

    @Test func aDatabaseLockedByAnotherProcessForTenSecondsStopsNothing() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let database = workspace.path("agent.db")
        let (mock, agent, port) = try await Self.start(database: database)
        defer { mock.terminate() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        // sqlite3 holds an open write transaction for 10 s.
        let locker = Process()
        locker.executableURL = URL(fileURLWithPath: try Run.find("sqlite3", package: "sqlite3"))
        locker.arguments = [database]
        let script = Pipe()
        locker.standardInput = script
        locker.standardOutput = FileHandle.nullDevice
        try locker.run()
        script.fileHandleForWriting.write(Data("BEGIN IMMEDIATE;\nUPDATE rollup_watermarks SET until_ms = until_ms;\n.shell sleep 10\nCOMMIT;\n.quit\n".utf8))
        try script.fileHandleForWriting.close()
        let lockedAt = ContinuousClock.now

        let load = Load(port: port)
        async let running: Void = load.run(clients: 2, client: client)
        // Traffic flows while the lock is held, and the agent says it is not recording.
        #expect(await eventually { load.answered >= 200 })
        #expect(ContinuousClock.now - lockedAt < .seconds(10), "the lock should still be held")
        #expect(await Run.exit(of: locker) == 0)
        // Recording resumes by itself: the count grows past what was answered before the lock went.
        let answeredWhileLocked = load.answered
        #expect(await eventually(within: 60) { ((try? Self.recorded(database).calls) ?? 0) >= Int64(answeredWhileLocked) })
        load.stop()
        await running
        let (calls, dropped, integrity) = try await Self.stop(agent, client: client, database: database)
        // Every call accounted for: recorded or counted as dropped.
        #expect(integrity == "ok")
        #expect(calls + Int64(dropped ?? -1) == Int64(load.answered))
    }

    /// A small file system of our own: tmpfs where the machine allows mounting.
    static func mount(_ directory: String, size: String) async -> Bool {
        (try? await Run.detached("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", directory]))?.status == 0
    }

    static func remount(_ directory: String, _ options: String) async throws {
        try await run("/bin/mount", "-o", "remount,\(options)", directory)
    }

    static func run(_ program: String, _ arguments: String...) async throws {
        let (status, said) = try await Run.detached(program, arguments)
        #expect(status == 0, "\(program) \(arguments) failed: \(said)")
    }

    static func unmount(_ directory: String) async {
        _ = try? await Run.detached("/bin/umount", ["-l", directory])
    }

    @Test func aFullFileSystemStopsNothing() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let directory = workspace.path("small")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A tmpfs of 640 KiB where the machine lets us mount one; else a file-size limit on the
        // agent process (RLIMIT_FSIZE), which fails writes past it the same way.
        var mounted = false
        if ProcessInfo.processInfo.environment["ERRWATCH_TEST_NO_MOUNT"] == nil { mounted = await Self.mount(directory, size: "640k") }
        do {
            try await fillTheDiskAndMakeRoom(directory, mounted: mounted)
        } catch {
            Issue.record(error)
        }
        if mounted { await Self.unmount(directory) }
    }

    func fillTheDiskAndMakeRoom(_ directory: String, mounted: Bool) async throws {
        let database = directory + "/agent.db"
        // Every call fails, so every call writes an error row: the disk fills fast.
        let (mock, agent, port) = try await Self.start(database: database, mix: "500=100%",
                                                       launcher: mounted ? [] : [try Run.find("prlimit", package: "util-linux"), "--fsize=655360:unlimited"])
        defer { mock.terminate() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let load = Load(port: port)
        async let running: Void = load.run(clients: 4, client: client)

        // Full: the agent keeps answering while it drops and counts; /readyz says so.
        #expect(try await eventually(within: 120) { Self.dropped(try await Self.get(client, port: port, "/metrics").1) > 0 })
        let answeredWhenFull = load.answered
        #expect(await eventually { load.answered >= answeredWhenFull + 200 })
        #expect(try await Self.get(client, port: port, "/readyz").0 == 503)

        // Room again: recording resumes by itself.
        if mounted {
            try await Self.remount(directory, "size=64m")
        } else {
            try await Self.run(try Run.find("prlimit", package: "util-linux"), "--pid", String(agent.process.processIdentifier), "--fsize=unlimited:unlimited")
        }
        let recordedBefore = try Self.recorded(database).calls
        #expect(try await eventually(within: 60) { (try Self.recorded(database).calls) > recordedBefore + 100 })

        load.stop()
        await running
        let (calls, dropped, integrity) = try await Self.stop(agent, client: client, database: database)
        #expect(integrity == "ok")
        #expect(load.failed == 0)
        // Every call accounted for, to the last one written or dropped at the stop.
        #expect(calls + Int64(dropped ?? -1) == Int64(load.answered), "recorded \(calls) + dropped \(dropped ?? -1) of \(load.answered)")
    }

    /// Stops the agent with SIGTERM and reads what it kept: the calls recorded, the drops it
    /// reported on its way out, and the file's integrity.
    static func stop(_ agent: RunningBinary, client: HTTPClient, database: String) async throws -> (calls: Int64, dropped: Int?, integrity: String) {
        agent.terminate()
        let dropped = await droppedAtStop(agent)
        #expect(await agent.exitStatus() == 0)
        try await client.shutdown()
        let (calls, integrity) = try recorded(database)
        return (calls, dropped, integrity)
    }

    /// The drops the agent reports in its last log line (`errwatch agent stopped`, its `dropped` field).
    static func droppedAtStop(_ agent: RunningBinary) async -> Int? {
        for await line in agent.lines where line.contains("errwatch agent stopped") {
            return RunningBinary.fields(line)?["dropped"].flatMap { Int($0) }
        }
        return nil
    }
}
