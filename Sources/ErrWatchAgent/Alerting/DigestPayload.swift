import ErrWatchCore
import ErrWatchReport
import Foundation

/// The bodies notifiers send for one digest: the period's report (``PeriodReport``) as JSON
/// for webhooks and commands, as Slack blocks, and as plain text for the log.
struct DigestPayload: NotificationPayload {
    let digest: DigestConfiguration
    let report: PeriodReport
    /// The agent's dashboard, for links.
    let dashboardURL: String

    var subject: String { "digest \(digest.name)" }

    /// One sentence: the period, its figures against the one before, the top error, the alerts.
    var summary: String {
        let rate = report.errorRate.map(Format.percent) ?? "-"
        let change = report.previousErrorRate.map { ", \(PeriodReport.change(report.errorRate, $0)) against the \(digest.schedule.every == .daily ? "day" : "week") before" } ?? ""
        let top = report.topErrors.first.map { "; top error \($0.type)/\($0.code.isEmpty ? "(no code)" : $0.code) (\($0.errors))" } ?? ""
        let fired = report.alerts.filter { $0.kind == .firing }.count
        let alerts = fired == 0 ? "; no alert fired" : "; \(fired) alert\(fired == 1 ? "" : "s") fired"
        return "\(digest.name) (\(digest.schedule.every.rawValue)), \(Timestamp.iso8601(report.since)) to \(Timestamp.iso8601(report.until)): "
            + "\(report.calls) calls, \(report.errors) errors (\(rate)\(change))\(top)\(alerts)."
    }

    var webhookJSON: String {
        guard case .object(let fields) = report.json() else { return "{}" }
        return JSONOutput.object([
            ("kind", .string("digest")),
            ("digest", .string(digest.name)),
            ("schedule", .string(digest.schedule.description)),
            ("summary", .string(summary)),
        ] + fields + [("dashboard_url", .string(dashboardURL + "/"))]).text()
    }

    /// Slack blocks: a header, the sentence, the report in a code block (Slack shows at most
    /// 3,000 characters of a section: a longer report is cut, the sentence is whole), a link.
    /// Recorded text is escaped as for alerts (``AlertPayload/slackEscaped(_:)``).
    var slackJSON: String {
        var text = AlertPayload.slackEscaped(report.text())
        if text.count > 2_900 { text = String(text.prefix(2_900)) + "\n…" }
        let summary = AlertPayload.slackEscaped(summary)
        func section(_ text: String) -> JSONOutput {
            .object([("type", .string("section")), ("text", .object([("type", .string("mrkdwn")), ("text", .string(text))]))])
        }
        return JSONOutput.object([
            ("text", .string(summary)),
            ("blocks", .array([
                .object([("type", .string("header")),
                         ("text", .object([("type", .string("plain_text")), ("text", .string("errwatch \(digest.schedule.every.rawValue) digest: \(AlertPayload.slackEscaped(digest.name))"))]))]),
                section(summary),
                section("```\n" + text + "```"),
                .object([("type", .string("context")), ("elements", .array([
                    .object([("type", .string("mrkdwn")), ("text", .string("<\(dashboardURL)/|dashboard> · \(digest.schedule.description)"))]),
                ]))]),
            ])),
        ]).text()
    }

    func alertmanagerJSON(validUntil: Int64) -> String? { nil }

    var environment: [String: String] {
        ["ERRWATCH_DIGEST": digest.name, "ERRWATCH_DIGEST_SUMMARY": summary,
         "ERRWATCH_DIGEST_SINCE": Timestamp.iso8601(report.since), "ERRWATCH_DIGEST_UNTIL": Timestamp.iso8601(report.until)]
    }

    var logText: String { summary + "\n" + report.text() }
}
