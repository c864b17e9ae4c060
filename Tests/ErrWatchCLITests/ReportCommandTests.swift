@testable import ErrWatchCLI
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

/// `errwatch report`: the terminal page fits 80 columns and says the figures; the HTML page
/// carries its data and cannot be broken out of by a message.
struct ReportCommandTests {
    @Test func textFitsEightyColumnsWithFiguresSparklinesAndTopErrors() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = try ExportCommandTests.fixture(workspace)
        let result = await errwatch(["report", "--db", db, "--since", "1h"], now: now)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.allSatisfy { $0.count <= 80 }, "\(lines.filter { $0.count > 80 })")
        #expect(lines[1] == "100 calls, 10 errors, error rate 10.00% (+9.0pp against the 1h before)")
        let row = try #require(lines.first { $0.hasPrefix("gpt-4o ") })
        #expect(row.contains("     100      10  10.00%   +9.0pp  "))
        // Cells of the error rate over the hour: no calls (·), calls without errors (▁), then
        // the failures of the last quarter at the line's highest (█).
        let spark = String(row.suffix(16)).trimmingCharacters(in: .whitespaces)
        let firstFailure = try #require(spark.firstIndex(where: { $0 != "·" && $0 != "▁" }))
        #expect(spark.contains("▁") && spark.contains("█"))
        #expect(spark.distance(from: spark.startIndex, to: firstFailure) >= 8, "\(spark)")
        // 90 calls at 200 ms and 10 at 3 s: p50 inside 100–250 ms (100 + 150 × 50/90), p95
        // inside 2.5–5 s (2.5 s + 2.5 s × 5/10); no streams, so no time to first token.
        #expect(result.stdout.contains("\nlatency                       p50      p95  streams  TTFT p50  TTFT p95\n"
            + "gpt-4o                     183 ms   3.75 s        0         -         -\n"), "\(result.stdout)")
        #expect(result.stdout.contains("Top errors\n      6  60.00%  rate_limit_error rate_limit_exceeded\n                 slow down\n"))
    }

    @Test func htmlCarriesItsDataAndEscapesMessages() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = workspace.path("r.db")
        let store = try Store.open(path: db)
        _ = try store.record([CallOutcome(
            timestamp: now - 60_000, app: "a", endpoint: "e", model: "m", status: 500,
            error: CallError(type: .internal, code: "x", message: "</script><script>alert(1)</script>", retryable: true))])
        let file = workspace.path("report.html")
        let result = await errwatch(["report", "--db", db, "--since", "1h", "--format", "html", "--output", file], now: now)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let page = try String(contentsOfFile: file, encoding: .utf8)
        #expect(page.contains("window.ERRWATCH_REPORT = {\n  \"range\": \"1h\""))
        #expect(page.contains("\"calls\": 1, \"errors\": 1"))
        #expect(page.contains("\\u003c/script>\\u003cscript>alert(1)\\u003c/script>"))
        #expect(!page.contains("</script><script>alert(1)"))
        #expect(page.components(separatedBy: "</script>").count == 3)
    }
}
