import ErrWatchCore
import Foundation

/// The bodies notifiers send for one alert event: errwatch's webhook JSON, Slack's
/// incoming-webhook message, and Alertmanager's v2 alert.
struct AlertPayload: NotificationPayload {
    let event: AlertEvent
    let rule: AlertRule?
    /// The agent's dashboard, for links.
    let dashboardURL: String

    var alert: AlertState { event.alert }
    var summary: String { event.summary.isEmpty ? AlertText.summary(event, rule: rule) : event.summary }
    var link: String { "\(dashboardURL)/?rule=\(percentEncoded(alert.rule))" }
    var subject: String { "rule \(alert.rule)" }
    var logText: String { webhookJSON + "\n" }

    /// errwatch's webhook body: the fields the README documents, in a stable order.
    var webhookJSON: String {
        JSONOutput.object([
            ("status", .string(event.status)),
            ("event", .string(event.kind.rawValue)),
            ("rule", .string(alert.rule)),
            ("kind", .optional(rule?.kind.rawValue)),
            ("severity", .string(alert.severity.rawValue)),
            ("labels", .labels(alert.labels)),
            ("value", .optional(alert.value)),
            ("threshold", .optional(alert.threshold)),
            ("window", .optional(rule.map { DurationText.format($0.window(of: alert)) })),
            ("calls", .integer(alert.calls)),
            ("errors", .integer(alert.errors)),
            ("starts_at", .string(Timestamp.iso8601(alert.startsAt ?? alert.activeSince))),
            ("ends_at", .optional(alert.endsAt.map(Timestamp.iso8601))),
            ("summary", .string(summary)),
            ("dashboard_url", .string(link)),
        ]).text()
    }

    /// Text for Slack's mrkdwn: `&`, `<` and `>` escaped as Slack asks, so a model or app name
    /// chosen by whoever calls the proxy (`<!here>`, `<https://evil.example|Reset your key>`)
    /// shows as text, never as a mention or a disguised link.
    static func slackEscaped(_ text: String) -> String {
        guard text.contains(where: { $0 == "&" || $0 == "<" || $0 == ">" }) else { return text }
        return text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// A Slack incoming-webhook message: the sentence, colour-coded, with a link. Every text
    /// that may hold recorded data is escaped (``slackEscaped(_:)``); only the link is ours.
    var slackJSON: String {
        let resolved = event.status == "resolved"
        let summary = Self.slackEscaped(self.summary)
        let rule = Self.slackEscaped(alert.rule)
        let title = resolved ? "[RESOLVED] \(rule)" : "[\(alert.severity.rawValue.uppercased())] \(rule)"
        let color = resolved ? "#2eb886" : (alert.severity == .critical ? "#d00000" : "#f2a900")
        let attachment = JSONOutput.object([
            ("color", .string(color)),
            ("title", .string(title)),
            ("title_link", .string(link)),
            ("text", .string(summary)),
            ("fallback", .string("\(title): \(summary)")),
        ])
        return JSONOutput.object([
            ("text", .string("\(title): \(summary) <\(link)|dashboard>")),
            ("attachments", .array([attachment])),
        ]).text()
    }

    /// Alertmanager's v2 body (`POST /api/v2/alerts`): a list of one alert. While firing,
    /// `endsAt` is `validUntil`, a little ahead, as Prometheus does, so that Alertmanager resolves
    /// it by itself if errwatch stops sending; once resolved, it is the resolution time.
    func alertmanagerJSON(validUntil: Int64) -> String? {
        var labels: [(String, JSONOutput)] = [("alertname", .string(alert.rule)), ("severity", .string(alert.severity.rawValue))]
        for (key, value) in alert.labels.sorted(by: { $0.key < $1.key }) where !value.isEmpty {
            labels.append((key, .string(value)))
        }
        labels.append(("source", .string("errwatch")))
        let annotations = JSONOutput.object([
            ("summary", .string(summary)),
            ("value", .string(AlertText.value(alert.value, rule: rule))),
            ("threshold", .string(alert.threshold.map { AlertText.value($0, rule: rule) } ?? "")),
            ("calls", .string(String(alert.calls))),
            ("errors", .string(String(alert.errors))),
        ])
        let ends = alert.endsAt ?? validUntil
        return JSONOutput.array([.object([
            ("labels", .object(labels)),
            ("annotations", annotations),
            ("startsAt", .string(Timestamp.iso8601(alert.startsAt ?? alert.activeSince))),
            ("endsAt", .string(Timestamp.iso8601(ends))),
            ("generatorURL", .string(link)),
        ])]).text()
    }

    /// The environment a `command` notifier's program gets, beside the JSON on its input.
    var environment: [String: String] {
        var environment = [
            "ERRWATCH_ALERT_STATUS": event.status,
            "ERRWATCH_ALERT_EVENT": event.kind.rawValue,
            "ERRWATCH_ALERT_RULE": alert.rule,
            "ERRWATCH_ALERT_SEVERITY": alert.severity.rawValue,
            "ERRWATCH_ALERT_VALUE": JSONOutput.optional(alert.value).text(),
            "ERRWATCH_ALERT_SUMMARY": summary,
            "ERRWATCH_ALERT_URL": link,
        ]
        for (key, value) in alert.labels {
            environment["ERRWATCH_ALERT_LABEL_\(key.uppercased())"] = value
        }
        return environment
    }

    private func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let character = Character(Unicode.Scalar(byte))
            if byte < 0x80, character.isLetter || character.isNumber || "-_.~".contains(character) {
                result.append(character)
            } else {
                result += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return result
    }
}
