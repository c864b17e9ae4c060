import Foundation

/// Turns what came back from an API call into a ``CallError``, or nil for a success.
///
/// The rules, in order:
/// - **The status decides the type** (``ErrorType/forStatus(_:)``). A body may refine it only
///   into another member of the closed set: a generic status (400, 403, 500, or none, as for
///   an event inside a stream) takes what the body's type or code says (``ErrorType/normalize(_:)``);
///   any status becomes `insufficient_quota` when the body says the account is out of quota,
///   billing or credits (OpenAI's 429 `insufficient_quota`, 402s, DeepSeek's "Insufficient
///   Balance"). A body type of `tokens` is never a type.
/// - **The provider's own type and code are kept** as sent, in their own fields.
/// - **The code finds one cause across providers**: `context_length_exceeded`,
///   `content_filter`, `insufficient_quota`, `invalid_api_key`, `model_not_found`,
///   `rate_limit_exceeded`, `overloaded` whichever provider said it; else the provider's string
///   code; else the best string the body has (Gemini's `status`); else what the body was
///   (`html_body`, `non_json_body`, `empty_body`).
/// - **Bodies as they come**: OpenAI's and the guide's `{"error":{…}}`, Anthropic's
///   `{"type":"error","error":{…}}`, Gemini's list `[{"error":{…}}]`, a `message` that is an
///   object (Mistral's `{"detail":[…]}`) or a JSON string holding another error (proxies that
///   wrap Gemini), top-level `message`/`detail`/`object: "error"` (vLLM, FastAPI), Azure's
///   `innererror`, HTML pages (the title, else the text), plain text, JSON cut short.
///
/// Only the first ``maxBodyBytes`` are read.
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
        return classify(status: Optional(status), headers: headers, body: body, now: now)
    }

    /// The error an event inside a stream carries (`data: {"error":…}`, Anthropic's `event:
    /// error`): no status of its own, so the body's type decides, by the same rules.
    public static func classifyEvent(payload: some Collection<UInt8>, now: Int64) -> CallError {
        classify(status: nil, headers: [:], body: payload, now: now)
    }

    private static func classify(status: Int?, headers: HTTPHeaders, body: some Collection<UInt8>, now: Int64) -> CallError {
        let fields = BodyFields.parse(body.prefix(maxBodyBytes))
        let cause = Cause.find(fields, status: status)
        let type = resolveType(status: status, fields: fields, cause: cause)
        let message = fields.message ?? fallbackMessage(status: status, fields: fields)
        var advice = status.map { retryable(status: $0, headers: headers) } ?? retryable(status: nil, type: type)
        if type == .insufficientQuota, headers["x-should-retry"] == nil { advice = false }
        return CallError(
            type: type,
            code: code(cause: cause, type: type, status: status, fields: fields),
            message: message,
            retryable: advice,
            retryAfterMs: RetryDelay.milliseconds(from: headers, now: now),
            providerType: fields.type ?? fields.status ?? "",
            providerCode: fields.code ?? ""
        )
    }

    /// The member of the closed set: the status's, refined by the body only where allowed.
    private static func resolveType(status: Int?, fields: BodyFields, cause: Cause?) -> ErrorType {
        if cause == .insufficientQuota { return .insufficientQuota }
        let byStatus = status.map(ErrorType.forStatus)
        let byBody = [fields.type, fields.code, fields.status].lazy.compactMap { $0 }.compactMap(ErrorType.normalize).first
        switch status {
        case nil:
            return byBody ?? cause?.impliedType ?? .internal
        case 400?, 403?:
            // Gateways that answer 400 or 403 for a bad key or an unknown model say so in the body.
            let candidates = [cause?.impliedType] + [fields.type, fields.code, fields.status].map { $0.flatMap(ErrorType.normalize) }
            let refinable: Set<ErrorType> = [.authentication, .permission, .notFound, .requestTooLarge, .rateLimit]
            if let refined = candidates.lazy.compactMap({ $0 }).first(where: refinable.contains) { return refined }
            return byStatus ?? .invalidRequest
        case 500?:
            // A 500 that names a more precise server-side failure.
            if let refined = byBody, [.overloaded, .serviceUnavailable, .upstream, .timeout].contains(refined) { return refined }
            return .internal
        case let status? where ErrorType.forStatus(status) == .unknown:
            return byBody ?? .unknown
        default:
            return byStatus ?? .unknown
        }
    }

    private static func code(cause: Cause?, type: ErrorType, status: Int?, fields: BodyFields) -> String {
        if let cause { return cause.rawValue }
        if type == .rateLimit { return Cause.rateLimitExceeded.rawValue }
        if type == .overloaded { return Cause.overloaded.rawValue }
        if let code = fields.code, !code.isEmpty, Int(code) == nil { return code }
        if let word = fields.status, !word.isEmpty, Int(word) == nil { return word }
        return fields.bodyKind.code
    }

    /// The causes teams act on, each one code whichever provider sent it.
    enum Cause: String {
        case contextLengthExceeded = "context_length_exceeded"
        case contentFilter = "content_filter"
        case insufficientQuota = "insufficient_quota"
        case invalidAPIKey = "invalid_api_key"
        case modelNotFound = "model_not_found"
        case rateLimitExceeded = "rate_limit_exceeded"
        case overloaded

        var impliedType: ErrorType? {
            switch self {
            case .invalidAPIKey: .authentication
            case .modelNotFound: .notFound
            case .overloaded: .overloaded
            case .insufficientQuota: .insufficientQuota
            default: nil
            }
        }

        /// The cause `fields` name, by code, type or the words of the message.
        static func find(_ fields: BodyFields, status: Int?) -> Cause? {
            let words = [fields.code, fields.type, fields.status, fields.innerCode].compactMap { $0?.lowercased() }
            let message = (fields.message ?? "").lowercased()
            func says(_ phrases: String...) -> Bool { phrases.contains { message.contains($0) } }

            if words.contains(where: { ["context_length_exceeded", "exceed_context_size_error", "string_above_max_length"].contains($0) })
                || says("maximum context length", "prompt is too long", "exceeds the available context size", "exceed context window",
                        "context window of", "context_length_exceeded", "input is too long for requested model") {
                return .contextLengthExceeded
            }
            if words.contains(where: { ["content_filter", "content_policy_violation", "responsibleaipolicyviolation"].contains($0) })
                || says("content management policy", "content filtering polic") {
                return .contentFilter
            }
            if words.contains(where: { ["insufficient_quota", "billing_hard_limit_reached", "insufficient_credits", "insufficient_balance"].contains($0) })
                || says("exceeded your current quota", "insufficient balance", "insufficient credits", "requires more credits",
                        "credit balance is too low", "billing details")
                || status == 402 {
                return .insufficientQuota
            }
            if words.contains(where: { ["invalid_api_key", "api_key_invalid", "authentication_error"].contains($0) })
                || says("incorrect api key", "api key not valid", "invalid api key", "invalid x-api-key", "invalid_api_key") {
                return .invalidAPIKey
            }
            if words.contains("model_not_found")
                || (status == 404 || status == nil || words.contains("notfounderror") || words.contains("not_found_error"))
                    && message.contains("model") && (says("does not exist", "not found", "no such model")) {
                return .modelNotFound
            }
            if words.contains(where: { ["overloaded_error", "overloaded"].contains($0) }) || status == 529 || says("overloaded") {
                return .overloaded
            }
            return nil
        }
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
    /// (connection failures and timeouts), yes; never for `insufficient_quota`.
    public static func retryable(status: Int?, type: ErrorType) -> Bool {
        if type == .insufficientQuota { return false }
        guard let status, status > 0 else { return true }
        if status < 400 { return type == .timeout || type == .connection || type == .rateLimit || type == .internal
            || type == .upstream || type == .serviceUnavailable || type == .overloaded }
        return retryable(status: status)
    }

    private static func fallbackMessage(status: Int?, fields: BodyFields) -> String {
        let http = status.map { "HTTP \($0)" } ?? "An error event"
        switch fields.bodyKind {
        case .empty: return "\(http) with an empty body"
        case .json: return http
        case .html, .text: return fields.excerpt.isEmpty ? http : fields.excerpt
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
    /// A status word beside a numeric code (Gemini's `RESOURCE_EXHAUSTED`).
    var status: String?
    /// A nested code (Azure's `innererror.code`, Gemini's `details[].reason`).
    var innerCode: String?
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
            fields.type = JSONFieldScanner.string("type", in: trimmed) { $0 != "error" }
            fields.code = JSONFieldScanner.string("code", in: trimmed)
            fields.message = JSONFieldScanner.string("message", in: trimmed, acceptingUnterminated: true)
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

    private static func fromJSON(_ object: Any, depth: Int = 0) -> BodyFields {
        var fields = BodyFields(bodyKind: .json)
        // Gemini's OpenAI-compatible endpoint: a list of one error.
        if let list = object as? [Any] {
            return list.first.map { fromJSON($0, depth: depth) } ?? fields
        }
        guard let top = object as? [String: Any] else { return fields }
        // Anthropic: {"type":"error","error":{"type":…,"message":…}}; OpenAI, the guide, Gemini,
        // Azure: {"error":{"type","code","message","status","innererror"}}; some gateways:
        // {"error":"text"}; vLLM, Mistral, FastAPI: top-level fields.
        if let inner = top["error"] as? [String: Any] {
            fields.type = scalar(inner["type"])
            fields.code = scalar(inner["code"])
            // A status word (Gemini's RESOURCE_EXHAUSTED), not a repeated HTTP status (Azure's 400).
            fields.status = scalar(inner["status"]).flatMap { Int($0) == nil ? $0 : nil }
            fields.message = text(inner["message"])
            fields.innerCode = scalar((inner["innererror"] as? [String: Any])?["code"])
                ?? ((inner["details"] as? [[String: Any]])?.lazy.compactMap { scalar($0["reason"]) }.first)
            if fields.type == nil, fields.code == nil, fields.status == nil, let code = scalar(inner["error"]) { fields.code = code }
        } else if let text = top["error"] as? String {
            fields.message = text
        }
        if fields.type == nil, let type = scalar(top["type"]), type != "error" { fields.type = type }
        if fields.code == nil { fields.code = scalar(top["code"]) }
        if fields.status == nil, let status = scalar(top["status"]), Int(status) == nil { fields.status = status }
        if fields.message == nil { fields.message = text(top["message"]) ?? text(top["detail"]) ?? text(top["msg"]) }
        // A message that is itself a JSON error (a proxy passing Gemini's body on as text): the
        // inner error is the one that happened; the wrapper's fields fill what it lacks.
        if depth < 2, let message = fields.message, message.trimmingSpaces().first == "{",
           let data = message.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) {
            var inner = fromJSON(object, depth: depth + 1)
            if inner.message != nil {
                inner.type = inner.type ?? fields.type
                inner.code = inner.code ?? fields.code
                inner.status = inner.status ?? fields.status
                inner.innerCode = inner.innerCode ?? fields.innerCode
                return inner
            }
        }
        // "None" and "null" written as text by Python gateways say nothing.
        if ["None", "null", ""].contains(fields.type) { fields.type = nil }
        if ["None", "null", ""].contains(fields.code) { fields.code = nil }
        return fields
    }

    /// A message as readable text: a string as it is; an object or a list (Mistral's 422
    /// `{"detail":[{"loc":[…],"msg":"Field required"}]}`) as the messages it holds.
    private static func text(_ value: Any?) -> String? {
        switch value {
        case let string as String:
            return string
        case let number as NSNumber:
            return number.stringValue
        case let object as [String: Any]:
            if let detail = object["detail"] { return text(detail) }
            if let message = text(object["message"]) ?? text(object["msg"]) { return message }
            return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) }
        case let list as [Any]:
            let parts = list.compactMap { item -> String? in
                guard let entry = item as? [String: Any] else { return text(item) }
                let message = text(entry["msg"]) ?? text(entry["message"])
                let location = (entry["loc"] as? [Any])?.map { "\($0)" }.joined(separator: ".")
                return message.map { (location.map { "\($0): " } ?? "") + $0 }
            }
            return parts.isEmpty ? nil : parts.joined(separator: "; ")
        default:
            return nil
        }
    }

    private static func scalar(_ value: Any?) -> String? {
        switch value {
        case let string as String: return string
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
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
