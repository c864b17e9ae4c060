import ErrWatchCore
import Testing

@Suite struct OutcomeDecoderTests {
    let now: Int64 = 1_795_651_200_000  // 2026-11-26T00:00:00Z
    var decoder: OutcomeDecoder { OutcomeDecoder(now: now) }

    func reason(_ line: String) -> String? {
        do {
            _ = try decoder.decode(line: line)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func decodesASuccessWithDefaults() throws {
        let outcome = try decoder.decode(line: #"{"ts":"2026-11-25T23:00:00Z","status":200}"#)
        #expect(outcome.timestamp == now - 3_600_000)
        #expect(outcome.status == 200 && outcome.error == nil)
        #expect(outcome.app == "default" && outcome.endpoint == "" && outcome.model == "")
        #expect(outcome.count == 1 && outcome.attempt == 0 && !outcome.streamed)
    }

    @Test func decodesAnErrorWithEveryField() throws {
        let line = #"{"ts":1795647600000,"app":"chat","endpoint":"/v1/chat/completions","model":"gpt-4o","status":429,"type":"rate_limit_error","code":"rate_limit_exceeded","message":"slow down","retryable":true,"attempt":2,"latency_ms":12.6,"request_id":"req_1","streamed":true}"#
        let outcome = try decoder.decode(line: line)
        #expect(outcome == CallOutcome(
            timestamp: 1_795_647_600_000, app: "chat", endpoint: "chat/completions", model: "gpt-4o", status: 429,
            error: CallError(type: .rateLimit, code: "rate_limit_exceeded", message: "slow down", retryable: true),
            attempt: 2, latencyMs: 13, requestID: "req_1", streamed: true))
    }

    @Test func classifiesARawBodyWhenTypeIsAbsent() throws {
        let line = #"{"ts":1795647600000,"status":401,"body":"{\"error\":{\"code\":\"invalid_api_key\",\"message\":\"Invalid key sk-abcdefgh12345678\",\"type\":\"authentication_error\"}}"}"#
        let error = try #require(try decoder.decode(line: line).error)
        #expect(error.type == .authentication && error.code == "invalid_api_key" && !error.retryable)
        #expect(error.message == "Invalid key sk-***5678")
    }

    @Test func anErrorStatusWithoutTypeOrBodyTakesTheStatusType() throws {
        let error = try #require(try decoder.decode(line: #"{"ts":1795647600000,"status":503}"#).error)
        #expect(error.type == .serviceUnavailable && error.retryable && error.message == "HTTP 503")
    }

    @Test func noResponseIsAConnectionErrorByDefault() throws {
        let outcome = try decoder.decode(line: #"{"ts":1795647600000,"status":null}"#)
        #expect(outcome.status == nil)
        #expect(outcome.error?.type == .connection && outcome.error?.retryable == true)
        let timeout = try decoder.decode(line: #"{"ts":1795647600000,"status":0,"type":"timeout_error"}"#)
        #expect(timeout.error?.type == .timeout)
    }

    @Test func anErrorInsideA200StreamIsAnError() throws {
        let outcome = try decoder.decode(line: #"{"ts":1795647600000,"status":200,"type":"internal_error","streamed":true}"#)
        #expect(outcome.error?.type == .internal && outcome.error?.retryable == true)
    }

    @Test(arguments: [
        (#"{"status":200}"#, "missing required field 'ts'"),
        (#"{"ts":1795647600000}"#, "missing required field 'status'"),
        (#"{"ts":1795647600000,"status":"200"}"#, "'status' must be a whole number, got a string"),
        (#"{"ts":1795647600000,"status":2000}"#, "'status' is 2000; it must be from 0 to 999"),
        (#"{"ts":1795647600,"status":200}"#, "'ts' 1795647600 is before 2000; send milliseconds since 1970, not seconds"),
        (#"{"ts":"yesterday","status":200}"#, "'ts' is 'yesterday', not an ISO-8601 time such as 2026-11-25T10:00:00.000Z"),
        (#"{"ts":1895647600000,"status":200}"#, "'ts' 2030-01-26T08:46:40.000Z is more than a day in the future"),
        (#"{"ts":1795647600000,"status":200,"colour":"red"}"#, "unknown field 'colour'; known fields: app, attempt, body, chunks, code, count, endpoint, final, host, latency_ms, message, model, provider, provider_code, provider_type, request_id, retry_after_ms, retryable, status, streamed, time_to_first_token_ms, time_to_headers_ms, ts, type, upstream"),
        (#"{"ts":1795647600000,"status":500,"count":3}"#, "'count' greater than 1 is for aggregated successes; send each error as its own line"),
        (#"{"ts":1795647600000,"status":200,"message":"fine"}"#, "a success (status 200, no 'type') cannot carry 'code', 'message' or 'body'; add 'type' to record an error"),
        (#"{"ts":1795647600000,"status":200,"streamed":"yes"}"#, "'streamed' must be true or false, got a string"),
        (#"{"ts":1795647600000,"status":200,"attempt":-1}"#, "'attempt' is -1; it must be from 0 to 10000"),
        (#"[1,2]"#, "expected a JSON object, got an array"),
        (#"{"ts":1795647600000,"status":200"#, "not valid JSON"),
        (#"{"ts":1795647600000,"status":1e400}"#, "not valid JSON"),
    ])
    func rejectsBadLinesWithTheReason(line: String, expected: String) {
        #expect(reason(line) == expected)
    }

    @Test func rejectsOverlongNames() {
        let line = #"{"ts":1795647600000,"status":200,"model":"\#(String(repeating: "m", count: 201))"}"#
        #expect(reason(line) == "'model' is 201 characters long; at most 200 are accepted")
    }
}

@Suite struct EndpointTests {
    @Test(arguments: [
        ("/v1/chat/completions", "chat/completions"),
        ("/v1/chat/completions?stream=true", "chat/completions"),
        ("chat/completions", "chat/completions"),
        ("/v1/files/file-abc123XYZ/content", "files/{id}/content"),
        ("/v1/fine_tuning/jobs/ftjob-9XyZ12345abc", "fine_tuning/jobs/{id}"),
        ("/v1/batches/batch_6789abcd", "batches/{id}"),
        ("/v1/threads/thread_abc123def456/runs/run_1a2b3c4d5e", "threads/{id}/runs/{id}"),
        ("/v1/models/gpt-4o", "models/gpt-4o"),
        ("/v1/models/123", "models/{id}"),
        ("/v2/responses/550e8400-e29b-41d4-a716-446655440000", "responses/{id}"),
        ("/", ""),
    ])
    func normalisesRoutes(path: String, route: String) {
        #expect(Endpoint.normalize(path) == route)
    }
}

@Suite struct DimensionTests {
    @Test func parsesCommaLists() throws {
        #expect(try Dimension.parseList("model, type,model") == [.model, .type])
        #expect(try Dimension.parseList("") == [])
    }

    @Test func rejectsUnknownDimensionsNamingTheKnownOnes() {
        #expect(throws: ErrWatchError(.invalidArgument, "Unknown dimension 'region'; group by any of: app, endpoint, model, upstream, provider, host, status, type, code, fault.")) {
            try Dimension.parseList("model,region")
        }
    }
}

@Suite struct IngestedTypeTests {
    /// A provider's own word sent as the type maps into the closed set and is kept beside it.
    @Test func aProviderWordIsNeverAType() throws {
        let decoder = OutcomeDecoder(now: 1_795_651_200_000)
        let tokens = try #require(try decoder.decode(line: #"{"ts":1795647600000,"status":429,"type":"tokens","code":"rate_limit_exceeded"}"#).error)
        #expect(tokens.type == .rateLimit)
        #expect(tokens.providerType == "tokens")
        let vllm = try #require(try decoder.decode(line: #"{"ts":1795647600000,"status":400,"type":"BadRequestError"}"#).error)
        #expect(vllm.type == .invalidRequest && vllm.providerType == "BadRequestError")
        let odd = try #require(try decoder.decode(line: #"{"ts":1795647600000,"status":418,"type":"teapot"}"#).error)
        #expect(odd.type == .unknown && odd.providerType == "teapot")
        let given = try #require(try decoder.decode(line: #"{"ts":1795647600000,"status":429,"type":"rate_limit_error","provider_type":"requests","retry_after_ms":1500}"#).error)
        #expect(given.providerType == "requests" && given.retryAfterMs == 1_500)
    }
}
