@testable import ErrWatchCLI
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

/// `errwatch digest`: a configured digest previewed as its log notifier writes it, and sent
/// now to its notifiers, with an exit status that says whether they all took it.
struct DigestCommandTests {
    static func config(_ workspace: Workspace, notify: String) throws -> String {
        let file = workspace.path("errwatch.yaml")
        try """
            notifiers:
              - {name: file, kind: log, path: \(JSONOutput.quoted(workspace.path("digests.jsonl")))}
              - {name: nobody, kind: webhook, url: "http://127.0.0.1:9/hook", max_attempts: 1}
            digests:
              - {name: nightly, every: daily, at: "03:00", time_zone: UTC, notify: [\(notify)]}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test func previewsTheLastPeriodAndSendsItNow() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        // The fixture's three hours (18,000 calls, 450 errors) end at 03:00 the day before `now`:
        // inside the nightly digest's latest period.
        let db = try AlertsCommandTests.fixture(workspace)
        let config = try Self.config(workspace, notify: "file")
        let preview = await errwatch(["digest", "--db", db, "--config", config], now: now)
        #expect(preview.exitCode == 0, "\(preview.stderr)")
        #expect(preview.stdout.hasPrefix("nightly (daily), 2026-11-24T03:00:00.000Z to 2026-11-25T03:00:00.000Z: 18000 calls, 450 errors (2.50%); "
            + "top error service_unavailable/overloaded (450); no alert fired.\n"), "\(preview.stdout)")
        #expect(preview.stdout.contains("\nerrwatch report, 2026-11-24T03:00:00.000Z to 2026-11-25T03:00:00.000Z\n"))
        #expect(!FileManager.default.fileExists(atPath: workspace.path("digests.jsonl")), "a preview sends nothing")

        let sent = await errwatch(["digest", "nightly", "--db", db, "--config", config, "--send"], now: now)
        #expect(sent.exitCode == 0, "\(sent.stderr)")
        #expect(sent.stdout == "Sent digest nightly to file.\n")
        let line = try String(contentsOfFile: workspace.path("digests.jsonl"), encoding: .utf8)
        #expect(line.hasPrefix(#"{"kind":"digest","digest":"nightly","schedule":"daily at 03:00 UTC""#) && line.hasSuffix("}\n"), "\(line)")
    }

    @Test func aNotifierThatFailsIsNamedAndTheStatusIsOne() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = try AlertsCommandTests.fixture(workspace)
        let config = try Self.config(workspace, notify: "file, nobody")
        let sent = await errwatch(["digest", "--db", db, "--config", config, "--send"], now: now)
        #expect(sent.exitCode == 1)
        #expect(sent.stdout == "Sent digest nightly to file.\n")
        #expect(sent.stderr.contains("Could not send digest nightly to nobody; the log above says why.\n"), "\(sent.stderr)")
        let unknown = await errwatch(["digest", "weekly", "--db", db, "--config", config], now: now)
        #expect(unknown.exitCode == 64 && unknown.stderr.contains("No digest 'weekly' in the configuration; it has: nightly."), "\(unknown.stderr)")
    }
}
