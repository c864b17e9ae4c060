/// Writes an outcome as one line of the ingest format that ``OutcomeDecoder`` reads, so what a
/// client reports to the agent's `POST /api/v1/events` comes back out field for field.
public enum OutcomeEncoder {
    /// `outcome` as one JSON object, without a line end.
    public static func jsonLine(_ outcome: CallOutcome) -> String {
        var fields = [
            "\"ts\":\(outcome.timestamp)",
            "\"app\":\(quote(outcome.app))",
            "\"endpoint\":\(quote(outcome.endpoint))",
            "\"status\":\(outcome.status.map(String.init) ?? "0")",
            "\"attempt\":\(outcome.attempt)",
        ]
        if !outcome.model.isEmpty { fields.append("\"model\":\(quote(outcome.model))") }
        if let error = outcome.error {
            fields.append("\"type\":\(quote(error.type.rawValue))")
            if !error.code.isEmpty { fields.append("\"code\":\(quote(error.code))") }
            fields.append("\"message\":\(quote(error.message))")
            fields.append("\"retryable\":\(error.retryable)")
            if !error.providerType.isEmpty { fields.append("\"provider_type\":\(quote(error.providerType))") }
            if !error.providerCode.isEmpty { fields.append("\"provider_code\":\(quote(error.providerCode))") }
            if let delay = error.retryAfterMs { fields.append("\"retry_after_ms\":\(delay)") }
        }
        if let latency = outcome.latencyMs { fields.append("\"latency_ms\":\(latency)") }
        if let headers = outcome.timeToHeadersMs { fields.append("\"time_to_headers_ms\":\(headers)") }
        if let id = outcome.requestID { fields.append("\"request_id\":\(quote(id))") }
        if outcome.streamed { fields.append("\"streamed\":true") }
        if let final = outcome.finalAttempt { fields.append("\"final\":\(final)") }
        if outcome.count != 1 { fields.append("\"count\":\(outcome.count)") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    private static func quote(_ text: String) -> String { JSONText.quote(text) }
}
