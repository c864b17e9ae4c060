@testable import ErrWatchCLI
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

@Suite struct DemoCommandTests {
    @Test func theDemoRecordsTrafficAndLeavesTheDatabaseBehind() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = workspace.path("demo.db")
        let result = await errwatch(["demo", "--duration", "2s", "--db", db, "--rate", "60"], now: Timestamp.now())
        #expect(result.exitCode == 0, "\(result.stderr)")
        let recordedLine = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("The agent recorded ") })
        let recorded = Int(recordedLine.dropFirst("The agent recorded ".count).prefix { $0.isNumber }) ?? 0
        // How many depends on how loaded the machine is; that they all land is what matters.
        #expect(recorded > 0)
        #expect(recordedLine.hasSuffix("and dropped 0."))
        #expect(result.stdout.contains("errwatch rates --db \(db) --window 1h --by model,type"))
        // The file the demo names holds everything by itself: no WAL beside it, a copy is whole.
        #expect(!FileManager.default.fileExists(atPath: db + "-wal"))
        let copy = workspace.path("copy.db")
        try FileManager.default.copyItem(atPath: db, toPath: copy)
        #expect(try Store.open(path: copy).rates(Filter(since: 0, until: Int64.max / 2), by: [])[0].calls == Int64(recorded))
        let store = try Store.open(path: db)
        let calls = try store.rates(Filter(since: 0, until: Int64.max / 2), by: [])[0].calls
        #expect(calls == Int64(recorded))
    }
}
