import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

/// Digests: a period's report sent on schedule through notifiers, each in its medium's form —
/// errwatch's JSON to a webhook, Slack blocks, a JSON line to a log file — with a real
/// database, real receivers on 127.0.0.1 and an injected clock.
@Suite struct DigestTests {
    static func ms(_ iso: String) -> Int64 { Timestamp.parseISO8601(iso)! }

    static func configuration(hook: String, slack: String, log: String) -> String {
        """
        notifiers:
          - {name: hook, kind: webhook, url: "\(hook)/hook"}
          - {name: chat, kind: slack, url: "\(slack)/slack"}
          - {name: file, kind: log, path: \(JSONOutput.quoted(log))}
        digests:
          - name: daily-errors
            every: daily
            at: "09:00"
            time_zone: Europe/Berlin
            by: [model]
            notify: [hook, chat, file]
        """
    }

    @Test func aDailyDigestGoesOutOnceAtItsTimeToEveryNotifier() async throws {
        let hook = Receiver(), slack = Receiver()
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let log = workspace.path("digests.jsonl")
        try await hook.serve { hookURL in
            try await slack.serve { slackURL in
                // 08:00 in Berlin: the digest is due in an hour.
                let clock = AlertServiceTests.Clock(Self.ms("2026-11-30T07:00:00Z"))
                try await AlertServiceTests.withService(Self.configuration(hook: hookURL, slack: slackURL, log: log), clock: clock) { service, store in
                    // The day it covers: 100 calls, 10 rate-limited, and 2 streams; the day before: 100 calls, 1 error.
                    try AlertServiceTests.record(store, at: Self.ms("2026-11-29T12:00:00Z"), calls: 100, errors: 10)
                    try AlertServiceTests.record(store, at: Self.ms("2026-11-28T12:00:00Z"), calls: 100, errors: 1)
                    #expect(await service.sendDueDigests().isEmpty)
                    clock.advance(3_600_000 - 1)
                    #expect(await service.sendDueDigests().isEmpty)
                    clock.advance(1)
                    #expect(await service.sendDueDigests() == ["daily-errors"])
                    // Once: the next is due tomorrow.
                    clock.advance(60_000)
                    #expect(await service.sendDueDigests().isEmpty)

                    var hookBodies = hook.bodies.makeAsyncIterator()
                    let body = try #require(await hookBodies.next())
                    let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
                    #expect(json["kind"] as? String == "digest" && json["digest"] as? String == "daily-errors")
                    #expect(json["since"] as? String == "2026-11-29T08:00:00.000Z" && json["until"] as? String == "2026-11-30T08:00:00.000Z")
                    #expect(json["calls"] as? Int == 100 && json["errors"] as? Int == 10 && json["error_rate"] as? Double == 0.1)
                    #expect(json["previous_error_rate"] as? Double == 0.01)
                    let groups = try #require(json["groups"] as? [[String: Any]])
                    #expect(groups.count == 1 && groups[0]["model"] as? String == "gpt-4o")
                    let top = try #require((json["top_errors"] as? [[String: Any]])?.first)
                    #expect(top["code"] as? String == "rate_limit_exceeded" && top["errors"] as? Int == 10)
                    #expect(json["summary"] as? String == "daily-errors (daily), 2026-11-29T08:00:00.000Z to 2026-11-30T08:00:00.000Z: 100 calls, 10 errors "
                        + "(10.00%, +9.0pp against the day before); top error rate_limit_error/rate_limit_exceeded (10); no alert fired.")

                    var slackBodies = slack.bodies.makeAsyncIterator()
                    let message = try #require(await slackBodies.next())
                    let blocks = try #require((try JSONSerialization.jsonObject(with: Data(message.utf8)) as? [String: Any])?["blocks"] as? [[String: Any]])
                    #expect(blocks.map { $0["type"] as? String } == ["header", "section", "section", "context"])
                    let report = try #require((blocks[2]["text"] as? [String: Any])?["text"] as? String)
                    #expect(report.hasPrefix("```\nerrwatch report, 2026-11-29T08:00:00.000Z to 2026-11-30T08:00:00.000Z\n100 calls, 10 errors"), "\(report)")

                    let logged = await eventually {
                        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                        return text.hasSuffix("\n") && text.contains(#""kind":"digest""#)
                    }
                    #expect(logged, "the log file holds no digest line")
                }
            }
        }
    }

    @Test func settingsAreCheckedWithOneSentence() {
        func message(_ digest: String) -> String? {
            var configuration = AgentConfiguration()
            do {
                try configuration.apply(yaml: """
                    notifiers:
                      - {name: hook, kind: webhook, url: "http://127.0.0.1:9/hook"}
                      - {name: am, kind: alertmanager, url: "http://127.0.0.1:9"}
                    digests:
                      - \(digest)
                    """, path: "test.yaml")
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message("{name: d, at: \"9am\", notify: [hook]}") == "Invalid at '9am' of digest 'd' (test.yaml line 5); give a 24-hour time such as 09:00.")
        #expect(message("{name: d, time_zone: Mars/Base, notify: [hook]}")
            == "Invalid time_zone 'Mars/Base' of digest 'd' (test.yaml line 5); give an IANA time zone such as Europe/Berlin or UTC.")
        #expect(message("{name: d, notify: [am]}")?.hasPrefix("Notifier 'am' in digest 'd' (test.yaml line 5) is an Alertmanager") == true)
        #expect(message("{name: d, weekday: monday, notify: [hook]}") == "Digest 'd' (test.yaml line 5) names a weekday but is not weekly; add every: weekly.")
        #expect(message("{name: d}") == "Digest 'd' (test.yaml line 5) notifies no one; give notify: a list of notifiers.")
        #expect(message("{name: d, every: weekly, weekday: Friday, at: \"17:30\", by: [app, model], notify: hook}") == nil)
    }
}
