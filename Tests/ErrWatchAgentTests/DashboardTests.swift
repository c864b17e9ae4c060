import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import NIOHTTP1
import Testing

/// The dashboard at `/` in a real browser: headless Chromium (Debian's `chromium`, which
/// `.ci/run` installs) loads it from a live agent with known data; the rendered DOM must show
/// the figures the API gives, and screenshots in light and dark mode are kept under
/// `.build/test-output/`.
struct DashboardTests {
    static let output = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/test-output")

    /// Runs headless Chromium on `url` with `arguments`; returns what it printed on standard output.
    static func chromium(_ url: String, _ arguments: [String]) async throws -> String {
        let profileWorkspace = try Workspace()
        defer { profileWorkspace.cleanup() }
        let profile = profileWorkspace.url
        let chromium = try Run.find("chromium", package: "chromium")
        return try await Run.onThreadOfItsOwn {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: chromium)
            process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(profile.path)",
                                 "--virtual-time-budget=10000"] + arguments + [url]
            let stdout = Pipe()
            process.standardOutput = stdout
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = stdout.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
    }

    @Test func rendersTheAPIsFiguresInARealBrowser() async throws {
        let rules = "rules:\n  - {name: dash-rule, where: {type: rate_limit_error}, group_by: [model], warning: 5%, min_calls: 10}\n"
        try await Harness.with(configure: { try? $0.apply(yaml: rules, path: "test.yaml") }) { harness in
            let ts = Timestamp.iso8601(Timestamp.now() - 60_000)
            var lines = [#"{"ts":"\#(ts)","status":200,"app":"shop","model":"gpt-4o","count":90,"latency_ms":300}"#,
                         #"{"ts":"\#(ts)","status":200,"app":"search","model":"claude","count":50,"latency_ms":300,"streamed":true,"time_to_first_token_ms":400}"#]
            for _ in 0..<10 {
                lines.append(#"{"ts":"\#(ts)","status":429,"app":"shop","model":"gpt-4o","type":"rate_limit_error","code":"rate_limit_exceeded","message":"Slow down, test 42"}"#)
            }
            #expect(try await harness.send("/api/v1/events", body: lines.joined(separator: "\n")).status == 202)
            await harness.agent.writer.flush()
            #expect(try await harness.agent.alerts.evaluate().events.map(\.kind) == [.firing])

            let page = try await harness.send("/", method: .GET)
            #expect(page.status == 200)
            #expect(page.headers.first(name: "content-type") == "text/html; charset=utf-8")
            // Offline: no URL in the page but SVG's namespace name, so nothing is fetched from
            // anywhere but the agent itself (no CDN, fonts or scripts).
            let withoutNamespace = page.body.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")
            for external in ["http:", "https:", "src=", "@import", "url(", "<link"] {
                #expect(!withoutNamespace.contains(external), "the page refers to \(external)")
            }

            let dom = try await Self.chromium(harness.agentURL + "/?range=1h", ["--dump-dom"])
            #expect(dom.contains("data-loaded=\"1h\""), "the page did not finish loading: \(dom.suffix(400))")
            #expect(dom.contains("<div class=\"value\" id=\"error-rate\" data-value=\"0.06666666666666667\">6.67%</div>"))
            #expect(dom.contains("<div class=\"value\" id=\"calls\">150</div>"))
            #expect(dom.contains("<div class=\"value\" id=\"errors\">10</div>"))
            #expect(dom.contains("<div class=\"value\" id=\"alert-count\">1</div>"))
            #expect(dom.contains("data-rule=\"dash-rule\""))
            #expect(dom.contains("<td class=\"\">rate_limit_exceeded</td>"))
            #expect(dom.contains("Slow down, test 42"))
            #expect(dom.contains("<td class=\"\">gpt-4o</td><td class=\"num\">100</td><td class=\"num\">10</td><td class=\"num\">10.0%</td>"))
            #expect(dom.contains("<td class=\"\">claude</td><td class=\"num\">50</td><td class=\"num\">0</td><td class=\"num\">0.00%</td>"))
            // Latency p50 / p95 in its 250–500 ms bucket (25th and 47.5th of 50: 375 and 488 ms),
            // claude's first token in 300–500 ms (400 and 490 ms); gpt-4o streamed nothing.
            #expect(dom.contains("<td class=\"num\">375 ms / 488 ms</td><td class=\"num\">400 ms / 490 ms</td>"), "\(dom)")
            #expect(dom.contains("<td class=\"num\">375 ms / 488 ms</td><td class=\"num\">-</td>"))
            #expect(dom.contains("<td class=\"\">shop</td>"))
            #expect(dom.contains("data-type=\"rate_limit_error\""))
            #expect(dom.contains("<polygon"))
            #expect(dom.contains("<rect"))

            try FileManager.default.createDirectory(at: Self.output, withIntermediateDirectories: true)
            for (name, extra) in [("dashboard-light.png", [String]()), ("dashboard-dark.png", ["--force-dark-mode"])] {
                let file = Self.output.appendingPathComponent(name)
                try? FileManager.default.removeItem(at: file)
                _ = try await Self.chromium(harness.agentURL + "/?range=1h", extra + ["--window-size=1280,1500", "--screenshot=\(file.path)"])
                let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
                #expect(size > 20_000, "\(name) is \(size) bytes")
            }
        }
    }
}
