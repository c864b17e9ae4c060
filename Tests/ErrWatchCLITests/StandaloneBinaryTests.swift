import ErrWatchTestKit
import Foundation
import Testing

/// The executable must work copied alone to another directory: migrations are embedded in it,
/// and no resource bundle is looked up beside it.
@Suite struct StandaloneBinaryTests {
    /// The `errwatch` executable that `swift build` put beside this test bundle.
    static var builtBinary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("errwatch")
    }

    @Test func runsWhenCopiedAloneToAnotherDirectory() async throws {
        let source = Self.builtBinary
        try #require(FileManager.default.isExecutableFile(atPath: source.path), "no errwatch executable at \(source.path); build the package first")
        let directoryWorkspace = try Workspace()
        defer { directoryWorkspace.cleanup() }
        let directory = directoryWorkspace.url
        let copy = directory.appendingPathComponent("errwatch")
        try FileManager.default.copyItem(at: source, to: copy)

        let (status, text) = try await Run.detached(copy.path, ["migrate", "--db", "fresh.db", "--format", "csv"], directory: directory)
        #expect(status == 0, "\(text)")
        #expect(text == "database,migration\r\nfresh.db,0001_initial\r\nfresh.db,0002_time_to_headers\r\nfresh.db,0003_final_attempts\r\nfresh.db,0004_alerts\r\nfresh.db,0005_latency_histogram\r\nfresh.db,0006_provider_fields\r\nfresh.db,0007_ingested_files\r\nfresh.db,0008_retention\r\nfresh.db,0009_first_token\r\nfresh.db,0010_provider_host\r\n")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("fresh.db").path))
    }
}
