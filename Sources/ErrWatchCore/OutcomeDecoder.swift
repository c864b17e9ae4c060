import Foundation

/// Decodes outcomes from the JSON that `errwatch ingest` reads (one object per line) and the
/// agent's ingest API accepts. The field names are the ones errwatch prints:
///
/// `ts` (required: ISO-8601 or milliseconds since 1970), `status` (required: the HTTP status;
/// 0 or null for no response), `app`, `endpoint`, `model`, `upstream`, `provider`, `host`, `type`, `code`, `message`,
/// `retryable`, `attempt`, `latency_ms`, `time_to_headers_ms`, `time_to_first_token_ms` and
/// `chunks` (streams), `request_id`, `streamed`, `count` (identical
/// successes this line stands for), and `body` (a raw error body to classify when `type` is
/// absent). Any other field is refused, so a typo is never silently dropped.
public struct OutcomeDecoder: Sendable {
    /// The fields an outcome may carry.
    public static let fields: Set<String> = [
        "ts", "app", "endpoint", "model", "status", "type", "code", "message", "retryable",
        "attempt", "latency_ms", "request_id", "streamed", "count", "body", "time_to_headers_ms", "final",
        "time_to_first_token_ms", "chunks", "provider_type", "provider_code", "retry_after_ms", "upstream", "provider", "host",
    ]
    /// The app recorded when a line names none.
    public static let defaultApp = "default"
    /// Longest dimension value (app, model, type, code) accepted, in characters.
    public static let maxNameLength = RecordedText.maxDimensionLength
    /// Earliest time accepted: 2000-01-01T00:00:00Z. Smaller numbers are almost always
    /// seconds sent where milliseconds belong.
    public static let earliest: Int64 = 946_684_800_000
    /// How far past `now` a timestamp may lie (clock skew between hosts).
    public static let maxFutureSkew: Int64 = Timestamp.day

    private let now: Int64
    private let decoder = JSONDecoder()

    /// A decoder that judges timestamps against `now`.
    public init(now: Int64) { self.now = now }

    /// The outcome in one JSON object, or an error that says which field is wrong and why.
    public func decode(line: some StringProtocol) throws(ErrWatchError) -> CallOutcome {
        let value: JSONValue
        do {
            value = try decoder.decode(JSONValue.self, from: Data(line.utf8))
        } catch {
            throw invalid("not valid JSON")
        }
        return try decode(value)
    }

    /// The outcome in a parsed JSON object.
    public func decode(_ value: JSONValue) throws(ErrWatchError) -> CallOutcome {
        guard case .object(let object) = value else { throw invalid("expected a JSON object, got \(value.typeName)") }
        if let unknown = object.keys.filter({ !Self.fields.contains($0) }).sorted().first {
            throw invalid("unknown field '\(unknown)'; known fields: \(Self.fields.sorted().joined(separator: ", "))")
        }

        let timestamp = try time(object["ts"])
        let statusValue = try integer(object, "status", required: true, range: 0...999)
        let status = statusValue.flatMap { $0 == 0 ? nil : Int($0) }
        let app = try name(object, "app") ?? Self.defaultApp
        let endpoint = try string(object, "endpoint").map(Endpoint.normalize) ?? ""
        let model = try name(object, "model") ?? ""
        let upstream = try name(object, "upstream") ?? ""
        let provider = try name(object, "provider") ?? ""
        let host = try name(object, "host") ?? ""
        let attempt = Int(try integer(object, "attempt", range: 0...10_000) ?? 0)
        let latency = try number(object, "latency_ms", range: 0...86_400_000).map { Int64($0.rounded()) }
        let timeToHeaders = try number(object, "time_to_headers_ms", range: 0...86_400_000).map { Int64($0.rounded()) }
        let firstToken = try number(object, "time_to_first_token_ms", range: 0...86_400_000).map { Int64($0.rounded()) }
        let chunks = try integer(object, "chunks", range: 0...1_000_000_000).map { Int($0) }
        let count = Int(try integer(object, "count", range: 1...1_000_000_000) ?? 1)
        let requestID = try string(object, "request_id")
        let streamed = try bool(object, "streamed") ?? false
        let finalAttempt = try bool(object, "final")
        if (firstToken != nil || chunks != nil) && !streamed {
            throw invalid("'time_to_first_token_ms' and 'chunks' describe a stream; send them with \"streamed\": true")
        }

        let error = try callError(object, status: status)
        if error != nil, count > 1 {
            throw invalid("'count' greater than 1 is for aggregated successes; send each error as its own line")
        }
        return CallOutcome(
            timestamp: timestamp, app: app, endpoint: endpoint, model: model, upstream: upstream, provider: provider, host: host, status: status, error: error,
            attempt: attempt, latencyMs: latency, timeToHeadersMs: timeToHeaders,
            timeToFirstTokenMs: firstToken, chunks: chunks, requestID: requestID, streamed: streamed,
            finalAttempt: finalAttempt, count: count)
    }

    private func callError(_ object: [String: JSONValue], status: Int?) throws(ErrWatchError) -> CallError? {
        let type = try name(object, "type")
        let code = try name(object, "code")
        let message = try string(object, "message")
        let retryable = try bool(object, "retryable")
        let body = try string(object, "body")
        let isSuccess = (status ?? 0) > 0 && status! < 400 && type == nil
        if isSuccess {
            if code != nil || message != nil || body != nil {
                throw invalid("a success (status \(status!), no 'type') cannot carry 'code', 'message' or 'body'; add 'type' to record an error")
            }
            return nil
        }
        if type == nil, let status, status >= 400, let body {
            var classified = Classifier.classify(status: status, body: Array(body.utf8), now: now)!
            if let code { classified.code = code }
            if let message { classified.message = message }
            if let retryable { classified.retryable = retryable }
            return classified
        }
        // The type is a member of the closed set: a provider's own word (`tokens`) maps into it,
        // by the status where that names a type, and is kept as the provider type.
        let statusType = status.map(ErrorType.forStatus).flatMap { $0 == .unknown ? nil : $0 }
        let given = type.map(ErrorType.init(rawValue:))
        let resolvedType: ErrorType
        if let given, given.isMember {
            resolvedType = given
        } else {
            resolvedType = statusType ?? type.flatMap(ErrorType.normalize) ?? (status == nil ? .connection : .unknown)
        }
        let providerType = try name(object, "provider_type") ?? (given?.isMember == false ? type : nil)
        return CallError(
            type: resolvedType, code: code ?? "",
            message: message ?? status.map { "HTTP \($0)" } ?? "no response",
            retryable: retryable ?? Classifier.retryable(status: status, type: resolvedType),
            retryAfterMs: try integer(object, "retry_after_ms", range: 0...86_400_000),
            providerType: providerType ?? "", providerCode: try name(object, "provider_code") ?? "")
    }

    private func invalid(_ reason: String) -> ErrWatchError {
        ErrWatchError(.invalidInput, reason)
    }

    private func time(_ value: JSONValue?) throws(ErrWatchError) -> Int64 {
        let milliseconds: Int64
        switch value {
        case nil, .null?: throw invalid("missing required field 'ts'")
        case .integer(let number)?: milliseconds = number
        case .number(let number)? where number.isFinite && abs(number) < 9e15: milliseconds = Int64(number.rounded())
        case .string(let text)?:
            guard let parsed = Timestamp.parseISO8601(text) else {
                throw invalid("'ts' is '\(text.prefix(40))', not an ISO-8601 time such as 2026-11-25T10:00:00.000Z")
            }
            milliseconds = parsed
        case let other?: throw invalid("'ts' must be an ISO-8601 string or milliseconds since 1970, got \(other.typeName)")
        }
        guard milliseconds >= Self.earliest else {
            throw invalid("'ts' \(milliseconds) is before 2000; send milliseconds since 1970, not seconds")
        }
        guard milliseconds <= now + Self.maxFutureSkew else {
            throw invalid("'ts' \(Timestamp.iso8601(milliseconds)) is more than a day in the future")
        }
        return milliseconds
    }

    private func integer(_ object: [String: JSONValue], _ key: String, required: Bool = false, range: ClosedRange<Int64>) throws(ErrWatchError) -> Int64? {
        switch object[key] {
        case nil where required: throw invalid("missing required field '\(key)'")
        case nil, .null?: return nil
        case .integer(let value)?:
            guard range.contains(value) else { throw invalid("'\(key)' is \(value); it must be from \(range.lowerBound) to \(range.upperBound)") }
            return value
        case let other?: throw invalid("'\(key)' must be a whole number, got \(other.typeName)")
        }
    }

    private func number(_ object: [String: JSONValue], _ key: String, range: ClosedRange<Double>) throws(ErrWatchError) -> Double? {
        let value: Double
        switch object[key] {
        case nil, .null?: return nil
        case .integer(let number)?: value = Double(number)
        case .number(let number)?: value = number
        case let other?: throw invalid("'\(key)' must be a number, got \(other.typeName)")
        }
        guard range.contains(value) else { throw invalid("'\(key)' is \(value); it must be from \(Int64(range.lowerBound)) to \(Int64(range.upperBound))") }
        return value
    }

    private func bool(_ object: [String: JSONValue], _ key: String) throws(ErrWatchError) -> Bool? {
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?: throw invalid("'\(key)' must be true or false, got \(other.typeName)")
        }
    }

    private func string(_ object: [String: JSONValue], _ key: String) throws(ErrWatchError) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw invalid("'\(key)' must be a string, got \(other.typeName)")
        }
    }

    /// A dimension value: a string that is not absurdly long, redacted (an app named after a key is still a key).
    private func name(_ object: [String: JSONValue], _ key: String) throws(ErrWatchError) -> String? {
        guard let value = try string(object, key) else { return nil }
        guard value.count <= Self.maxNameLength else {
            throw invalid("'\(key)' is \(value.count) characters long; at most \(Self.maxNameLength) are accepted")
        }
        // Cleaned and redacted where the outcome is made (RecordedText).
        return value.isEmpty ? nil : value
    }
}
