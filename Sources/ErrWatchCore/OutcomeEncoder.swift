/// Writes an outcome as one line of the ingest format that ``OutcomeDecoder`` reads, so what a
/// client reports to the agent's `POST /api/v1/events` comes back out field for field.
public enum OutcomeEncoder {
    /// `outcome` as one JSON object, without a line end.
    public static func jsonLine(_ outcome: CallOutcome) -> String {
        var fields: [(String, JSONOutput)] = [
            ("ts", .integer(outcome.timestamp)),
            ("app", .string(outcome.app)),
            ("endpoint", .string(outcome.endpoint)),
            ("status", .integer(Int64(outcome.status ?? 0))),
            ("attempt", .integer(Int64(outcome.attempt))),
        ]
        if !outcome.model.isEmpty { fields.append(("model", .string(outcome.model))) }
        if !outcome.upstream.isEmpty { fields.append(("upstream", .string(outcome.upstream))) }
        if !outcome.provider.isEmpty { fields.append(("provider", .string(outcome.provider))) }
        if !outcome.host.isEmpty { fields.append(("host", .string(outcome.host))) }
        if let error = outcome.error {
            fields.append(("type", .string(error.type.rawValue)))
            if !error.code.isEmpty { fields.append(("code", .string(error.code))) }
            fields.append(("message", .string(error.message)))
            fields.append(("retryable", .bool(error.retryable)))
            if !error.providerType.isEmpty { fields.append(("provider_type", .string(error.providerType))) }
            if !error.providerCode.isEmpty { fields.append(("provider_code", .string(error.providerCode))) }
            if let delay = error.retryAfterMs { fields.append(("retry_after_ms", .integer(delay))) }
        }
        if let latency = outcome.latencyMs { fields.append(("latency_ms", .integer(latency))) }
        if let headers = outcome.timeToHeadersMs { fields.append(("time_to_headers_ms", .integer(headers))) }
        if let firstToken = outcome.timeToFirstTokenMs { fields.append(("time_to_first_token_ms", .integer(firstToken))) }
        if let chunks = outcome.chunks { fields.append(("chunks", .integer(Int64(chunks)))) }
        if let id = outcome.requestID { fields.append(("request_id", .string(id))) }
        if outcome.streamed { fields.append(("streamed", .bool(true))) }
        if let final = outcome.finalAttempt { fields.append(("final", .bool(final))) }
        if outcome.count != 1 { fields.append(("count", .integer(Int64(outcome.count)))) }
        return JSONOutput.object(fields).text()
    }
}
