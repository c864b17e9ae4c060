import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

/// `errwatch demo` as a user runs it: the built binary in its own process. (Run inside the
/// test process, its fake upstream, agent and apps shared two event-loop threads with every
/// other suite running at the same time, and under CI's load its apps' connections timed out
/// before a call got through.)
@Suite struct DemoCommandTests {
    @Test func theDemoRecordsTrafficAndLeavesTheDatabaseBehind() async throws {
        let binary = try ReleaseBinary.url()
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = workspace.path("demo.db")
        let (status, output) = try await Run.detached(binary.path, ["demo", "--duration", "2s", "--db", db, "--rate", "60"],
                                                      environment: ["PATH": "/usr/bin:/bin", "ERRWATCH_HOST_NAME": "web-1"])
        #expect(status == 0, "\(output)")
        let lines = output.split(separator: "\n")
        let recordedLine = try #require(lines.first { $0.hasPrefix("The agent recorded ") }, "\(output)")
        let recorded = Int(recordedLine.dropFirst("The agent recorded ".count).prefix { $0.isNumber }) ?? 0
        #expect(recorded > 0, "\(output)")
        #expect(recordedLine.hasSuffix("and dropped 0."))
        // Every attempt an app saw answered is one outcome the agent recorded: none lost, none twice.
        let appsLine = try #require(lines.first { $0.hasPrefix("The apps made ") }, "\(output)")
        let attempts = appsLine.split(separator: " ").firstIndex(of: "in").flatMap { Int(appsLine.split(separator: " ")[$0 + 1]) }
        #expect(attempts == recorded, "\(appsLine) / \(recordedLine)")
        #expect(output.contains("errwatch rates --db \(db) --window 1h --by model,type"))
        // The file the demo names holds everything by itself: no WAL beside it, a copy is whole.
        #expect(!FileManager.default.fileExists(atPath: db + "-wal"))
        let copy = workspace.path("copy.db")
        try FileManager.default.copyItem(atPath: db, toPath: copy)
        let store = try Store.open(path: copy)
        #expect(try store.rates(Filter(since: 0, until: Int64.max / 2), by: [])[0].calls == Int64(recorded))
        // Recorded under the host an agent here would use, and the file says so, for a merge.
        #expect(try store.rates(Filter(since: 0, until: Int64.max / 2), by: [.host]).map(\.group) == [["web-1"]])
        #expect(try store.identity().host == "web-1")
    }
}
