import ErrWatchCore
import Foundation

/// The bodies notifiers send for one alert event: errwatch's webhook JSON, Slack's
/// incoming-webhook message, and Alertmanager's v2 alert.
struct AlertPayload: Sendable {
    let event: AlertEvent
    let rule: AlertRule?
    /// The agent's dashboard, for links.
    let dashboardURL: String

    var alert: AlertState { event.alert }
    var summary: String { event.summary.isEmpty ? AlertText.summary(event, rule: rule) : event.summary }
    var link: String { "\(dashboardURL)/?rule=\(percentEncoded(alert.rule))" }

    /// errwatch's webhook body: the fields the README documents, in a stable order.
    var webhookJSON: String {
        JSONObject([
            ("status", JSONObject.string(event.status)),
            ("event", JSONObject.string(event.kind.rawValue)),
            ("rule", JSONObject.string(alert.rule)),
            ("kind", JSONObject.string(rule?.kind.rawValue)),
            ("severity", JSONObject.string(alert.severity.rawValue)),
            ("labels", JSONObject(alert.labels.sorted { $0.key < $1.key }.map { ($0.key, JSONObject.string($0.value)) }).text),
            ("value", JSONObject.number(alert.value)),
            ("threshold", JSONObject.number(alert.threshold)),
            ("window", JSONObject.string(rule.map { DurationText.format($0.window(of: alert)) })),
            ("calls", String(alert.calls)),
            ("errors", String(alert.errors)),
            ("starts_at", JSONObject.string(Timestamp.iso8601(alert.startsAt ?? alert.activeSince))),
            ("ends_at", JSONObject.string(alert.endsAt.map(Timestamp.iso8601))),
            ("summary", JSONObject.string(summary)),
            ("dashboard_url", JSONObject.string(link)),
        ]).text
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
        let attachment = JSONObject([
            ("color", JSONObject.string(color)),
            ("title", JSONObject.string(title)),
            ("title_link", JSONObject.string(link)),
            ("text", JSONObject.string(summary)),
            ("fallback", JSONObject.string("\(title): \(summary)")),
        ]).text
        return JSONObject([
            ("text", JSONObject.string("\(title): \(summary) <\(link)|dashboard>")),
            ("attachments", "[\(attachment)]"),
        ]).text
    }

    /// Alertmanager's v2 body (`POST /api/v2/alerts`): a list of one alert. While firing,
    /// `endsAt` is `validUntil`, a little ahead, as Prometheus does, so that Alertmanager resolves
    /// it by itself if errwatch stops sending; once resolved, it is the resolution time.
    func alertmanagerJSON(validUntil: Int64) -> String {
        var labels: [(String, String)] = [("alertname", JSONObject.string(alert.rule)), ("severity", JSONObject.string(alert.severity.rawValue))]
        for (key, value) in alert.labels.sorted(by: { $0.key < $1.key }) where !value.isEmpty {
            labels.append((key, JSONObject.string(value)))
        }
        labels.append(("source", JSONObject.string("errwatch")))
        let annotations = JSONObject([
            ("summary", JSONObject.string(summary)),
            ("value", JSONObject.string(AlertText.value(alert.value, rule: rule))),
            ("threshold", JSONObject.string(alert.threshold.map { AlertText.value($0, rule: rule) } ?? "")),
            ("calls", JSONObject.string(String(alert.calls))),
            ("errors", JSONObject.string(String(alert.errors))),
        ]).text
        let ends = alert.endsAt ?? validUntil
        let body = JSONObject([
            ("labels", JSONObject(labels).text),
            ("annotations", annotations),
            ("startsAt", JSONObject.string(Timestamp.iso8601(alert.startsAt ?? alert.activeSince))),
            ("endsAt", JSONObject.string(Timestamp.iso8601(ends))),
            ("generatorURL", JSONObject.string(link)),
        ]).text
        return "[\(body)]"
    }

    /// The environment a `command` notifier's program gets, beside the JSON on its input.
    var environment: [String: String] {
        var environment = [
            "ERRWATCH_ALERT_STATUS": event.status,
            "ERRWATCH_ALERT_EVENT": event.kind.rawValue,
            "ERRWATCH_ALERT_RULE": alert.rule,
            "ERRWATCH_ALERT_SEVERITY": alert.severity.rawValue,
            "ERRWATCH_ALERT_VALUE": JSONObject.number(alert.value),
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

/// A JSON object written field by field, in order.
struct JSONObject {
    let text: String

    /// The fields with their values already in JSON.
    init(_ fields: [(String, String)]) {
        text = "{" + fields.map { "\(JSONText.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    static func string(_ value: String?) -> String { value.map(JSONText.quote) ?? "null" }

    /// A finite number, else null (JSON has no infinity).
    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "null" }
        return JSONText.number(value)
    }
}
