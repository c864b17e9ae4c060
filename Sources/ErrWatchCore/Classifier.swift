import Foundation

/// Turns what came back from an API call into a ``CallError``, or nil for a success.
///
/// It reads the three error shapes seen in the wild — the guide's and OpenAI's
/// `{"error":{"message","type","code",…}}` and Anthropic's `{"type":"error","error":{…}}` —
/// and copes with the rest: HTML gateway pages, empty bodies, invalid UTF-8 and JSON cut
/// short. Only the first ``maxBodyBytes`` are read. A body that names no type gets the type
/// its status implies (a 429 page from a CDN is still a rate-limit error); a status errwatch
/// has no type for and a body it cannot read give `unknown_error`, with the start of the
/// body as the message.
public enum Classifier {
    /// How much of a body is parsed at most.
    public static let maxBodyBytes = 64 * 1024

    /// The error an HTTP response carries, or nil when `status` is a success (below 400).
    ///
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - headers: the response headers (for `x-should-retry` and retry delays).
    ///   - body: the response body, or as much of it as was kept.
    ///   - now: the current time, for `retry-after` given as a date.
    public static func classify(status: Int, headers: HTTPHeaders = [:], body: some Collection<UInt8>, now: Int64) -> CallError? {
        guard status >= 400 else { return nil }
        let fields = BodyFields.parse(body.prefix(maxBodyBytes))
        let type = fields.type.map(ErrorType.init(rawValue:)).flatMap { $0.rawValue.isEmpty || $0.rawValue == "error" ? nil : $0 }
            ?? ErrorType.forStatus(status)
        let message = fields.message ?? fallbackMessage(status: status, fields: fields)
        return CallError(
            type: type,
            code: fields.code ?? fields.bodyKind.code,
            message: message,
            retryable: retryable(status: status, headers: headers),
            retryAfterMs: RetryDelay.milliseconds(from: headers, now: now)
        )
    }

    /// The error for a call that got no response: the connection failed or broke.
    public static func connectionFailure(code: String = "connection_failed", message: String) -> CallError {
        CallError(type: .connection, code: code, message: message, retryable: true)
    }

    /// The error for a call that got no response in time.
    public static func timeout(code: String = "timeout", message: String) -> CallError {
        CallError(type: .timeout, code: code, message: message, retryable: true)
    }

    /// The guide's retry advice for `status`: 408, 409, 429 and 5xx yes, other 4xx no;
    /// an `x-should-retry: true|false` header from the server overrides it.
    public static func retryable(status: Int, headers: HTTPHeaders = [:]) -> Bool {
        switch headers["x-should-retry"]?.trimmingSpaces().lowercased() {
        case "true": return true
        case "false": return false
        default: return status == 408 || status == 409 || status == 429 || status >= 500
        }
    }

    /// The retry advice for an error recorded without it: by status, or for no response
    /// (connection failures and timeouts), yes.
    public static func retryable(status: Int?, type: ErrorType) -> Bool {
        guard let status, status > 0 else { return true }
        if status < 400 { return type == .timeout || type == .connection || type == .rateLimit || type == .internal
            || type == .upstream || type == .serviceUnavailable || type == .overloaded }
        return retryable(status: status)
    }

    private static func fallbackMessage(status: Int, fields: BodyFields) -> String {
        switch fields.bodyKind {
        case .empty: return "HTTP \(status) with an empty body"
        case .json: return "HTTP \(status)"
        case .html, .text: return fields.excerpt.isEmpty ? "HTTP \(status)" : fields.excerpt
        }
    }
}

/// The fields the classifier could read from a body.
struct BodyFields {
    enum Kind {
        case empty, json, html, text
        /// The code recorded when the body itself names none but its form says something.
        var code: String {
            switch self {
            case .empty: "empty_body"
            case .json: ""
            case .html: "html_body"
            case .text: "non_json_body"
            }
        }
    }

    var bodyKind: Kind
    var type: String?
    var code: String?
    var message: String?
    /// The start of a body that is not JSON, as readable text: an HTML page's title, else its text.
    var excerpt: String = ""

    static let excerptLength = 200

    static func parse(_ bytes: some Collection<UInt8>) -> BodyFields {
        let data = Data(bytes)
        let text = String(decoding: data, as: UTF8.self)
        let trimmed = text.trimmingSpaces()
        if trimmed.isEmpty { return BodyFields(bodyKind: .empty) }
        if trimmed.first == "{" || trimmed.first == "[" {
            if let object = try? JSONSerialization.jsonObject(with: data) {
                return fromJSON(object)
            }
            // Cut short or not quite JSON: the fields that precede the damage are still there.
            var fields = BodyFields(bodyKind: .json)
            fields.type = scanString(trimmed, key: "type", skipping: "error")
            fields.code = scanString(trimmed, key: "code", skipping: nil)
            fields.message = scanString(trimmed, key: "message", skipping: nil)
            if fields.type == nil, fields.code == nil, fields.message == nil {
                return BodyFields(bodyKind: .text, excerpt: String(collapse(trimmed).prefix(excerptLength)))
            }
            return fields
        }
        let lowered = trimmed.prefix(512).lowercased()
        if lowered.hasPrefix("<!doctype html") || lowered.hasPrefix("<html") || lowered.contains("<head") || lowered.contains("<body") {
            return BodyFields(bodyKind: .html, excerpt: htmlExcerpt(String(trimmed)))
        }
        return BodyFields(bodyKind: .text, excerpt: String(collapse(trimmed).prefix(excerptLength)))
    }

    private static func fromJSON(_ object: Any) -> BodyFields {
        var fields = BodyFields(bodyKind: .json)
        guard let top = object as? [String: Any] else { return fields }
        // Anthropic: {"type":"error","error":{"type":…,"message":…}}; OpenAI and the guide:
        // {"error":{"type","code","message"}}; some gateways: {"error":"text"} or top-level fields.
        if let inner = top["error"] as? [String: Any] {
            fields.type = scalar(inner["type"])
            fields.code = scalar(inner["code"])
            fields.message = scalar(inner["message"])
        } else if let text = top["error"] as? String {
            fields.message = text
        }
        if fields.type == nil, let type = scalar(top["type"]), type != "error" { fields.type = type }
        if fields.code == nil { fields.code = scalar(top["code"]) }
        if fields.message == nil { fields.message = scalar(top["message"]) ?? scalar(top["detail"]) }
        return fields
    }

    private static func scalar(_ value: Any?) -> String? {
        switch value {
        case let string as String: return string
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }

    /// The first `"key": "value"` string in `text` whose value is not `skipping`.
    private static func scanString(_ text: Substring, key: String, skipping: String?) -> String? {
        var rest = text[...]
        let needle = "\"\(key)\""
        while let range = rest.range(of: needle) {
            rest = rest[range.upperBound...]
            var cursor = rest.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
            guard cursor.first == ":" else { continue }
            cursor = cursor.dropFirst().drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
            guard cursor.first == "\"" else { continue }
            cursor = cursor.dropFirst()
            var value = ""
            var escaped = false
            var closed = false
            for character in cursor {
                if escaped { value.append(character); escaped = false; continue }
                if character == "\\" { escaped = true; continue }
                if character == "\"" { closed = true; break }
                value.append(character)
            }
            if value != skipping, closed || key == "message" { return value }
        }
        return nil
    }

    private static func htmlExcerpt(_ html: String) -> String {
        if let open = html.range(of: "<title", options: .caseInsensitive),
           let close = html.range(of: ">", range: open.upperBound..<html.endIndex),
           let end = html.range(of: "</title>", options: .caseInsensitive, range: close.upperBound..<html.endIndex) {
            let title = collapse(html[close.upperBound..<end.lowerBound])
            if !title.isEmpty { return String(title.prefix(excerptLength)) }
        }
        var text = ""
        var inTag = false
        for character in html {
            if character == "<" { inTag = true; text.append(" ") }
            else if character == ">" { inTag = false }
            else if !inTag { text.append(character) }
            if text.count > excerptLength * 4 { break }
        }
        return String(collapse(text).prefix(excerptLength))
    }

    private static func collapse(_ text: some StringProtocol) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
