@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

/// Text that whoever calls the proxy chooses (a model, an app) reaches notifications and
/// reports: each medium gets it escaped, and a notifier's program gets no secrets.
@Suite struct NotifierEscapingTests {
    static let hostileModel = "<!here> <https://evil.example/x|Reset your API key> & co"

    static func payload(model: String) -> AlertPayload {
        let alert = AlertState(
            rule: "errors", group: [model], labels: ["model": model], phase: .firing, severity: .critical, value: 0.5,
            threshold: 0.1, calls: 10, errors: 5, activeSince: 0, startsAt: 0, endsAt: nil, lastNotifiedAt: nil, updatedAt: 0)
        return AlertPayload(event: AlertEvent(kind: .firing, alert: alert, at: 0, notify: true), rule: nil, dashboardURL: "http://127.0.0.1:8787")
    }

    @Test func slackShowsAttackerTextAsTextNeverAsAMentionOrALink() throws {
        let json = Self.payload(model: Self.hostileModel).slackJSON
        let message = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let text = try #require(message["text"] as? String)
        #expect(!text.contains("<!here>"))
        #expect(!text.contains("<https://evil.example"))
        #expect(text.contains("&lt;!here&gt; &lt;https://evil.example/x|Reset your API key&gt; &amp; co"))
        // errwatch's own link is still a link.
        #expect(text.hasSuffix("<http://127.0.0.1:8787/?rule=errors|dashboard>"))
        let attachment = try #require((message["attachments"] as? [[String: Any]])?.first)
        #expect((attachment["text"] as? String)?.contains("<!here>") == false)
        #expect((attachment["fallback"] as? String)?.contains("<!here>") == false)
    }

    @Test func aCommandNotifierGetsAMinimalEnvironment() {
        let agent = ["PATH": "/usr/bin:/bin", "HOME": "/root", "ERRWATCH_AUTH_TOKEN": "secret-token-0123456789", "AWS_SECRET_ACCESS_KEY": "x"]
        let environment = CommandRunner.environment(Self.payload(model: "m").environment, from: agent)
        #expect(environment["ERRWATCH_AUTH_TOKEN"] == nil)
        #expect(environment["AWS_SECRET_ACCESS_KEY"] == nil)
        #expect(environment["PATH"] == "/usr/bin:/bin")
        #expect(environment["ERRWATCH_ALERT_LABEL_MODEL"] == "m")
    }

    @Test func aCommandThatOutlivesItsTimeoutIsKilledWithItsChildren() async throws {
        let directoryWorkspace = try Workspace()
        defer { directoryWorkspace.cleanup() }
        let directory = directoryWorkspace.url
        let pidFile = directory.appendingPathComponent("child.pid").path
        let attempt = await CommandRunner.run(["/bin/sh", "-c", "sleep 30 & echo $! > \(pidFile); wait"], input: "{}", environment: [:], timeoutMs: 500)
        #expect(!attempt.delivered)
        let child = try #require(Int32(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        // The shell's child went with it (the kill is sent at once; the exit is the kernel's).
        var gone = false
        for _ in 0..<100 where !gone {
            gone = kill(child, 0) != 0 || Self.isZombie(child)
            if !gone { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(gone, "the command's child \(child) outlived the timeout")
    }

    static func isZombie(_ pid: Int32) -> Bool {
        ((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "").contains(") Z ")
    }

    @Test func aCommandThatFillsItsErrorPipeStillFinishes() async {
        // 1 MB on standard error: more than a pipe holds, so an undrained pipe would block it until the timeout.
        let attempt = await CommandRunner.run(["/bin/sh", "-c", "head -c 1000000 /dev/zero | tr '\\\\0' x >&2; exit 3"],
                                              input: "{}", environment: [:], timeoutMs: 10_000)
        #expect(attempt.status == 3)
        #expect(attempt.error?.contains("status 3") == true)
    }

    @Test func theReportKeepsEveryLessThanOutOfItsScript() throws {
        let directoryWorkspace = try Workspace()
        defer { directoryWorkspace.cleanup() }
        let directory = directoryWorkspace.url
        let store = try Store.open(path: directory.appendingPathComponent("r.db").path)
        let now: Int64 = 1_795_651_200_000
        try store.record([CallOutcome(timestamp: now - 60_000, app: "<!--<script>", endpoint: "chat/completions", model: "</script><b>x",
                                      status: 429, error: CallError(type: .rateLimit, code: "<x>", message: "</script>", retryable: true))])
        let page = try DashboardPage.report(store: store, since: now - 3_600_000, until: now, generatedAt: now)
        let start = try #require(page.range(of: "window.ERRWATCH_REPORT = "))
        let end = try #require(page.range(of: ";</script>", range: start.upperBound..<page.endIndex))
        let data = page[start.upperBound..<end.lowerBound]
        #expect(!data.contains("<"), "a '<' inside the report's script")
        // The data is still the data.
        let object = try #require(JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any])
        #expect("\(object["apps"] ?? "")".contains("<!--<script>"))
    }
}
