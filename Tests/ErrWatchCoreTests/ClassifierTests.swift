import ErrWatchCore
import Testing

@Suite struct ClassifierTests {
    let now: Int64 = 1_764_115_200_000

    func classify(_ status: Int, _ body: String, headers: HTTPHeaders = [:]) -> CallError? {
        Classifier.classify(status: status, headers: headers, body: Array(body.utf8), now: now)
    }

    static let guideTable: [(status: Int, type: String, code: String, retryable: Bool)] = [
        (400, "invalid_request_error", "invalid_parameter", false),
        (401, "authentication_error", "invalid_api_key", false),
        (403, "permission_error", "insufficient_permissions", false),
        (404, "not_found_error", "model_not_found", false),
        (429, "rate_limit_error", "rate_limit_exceeded", true),
        (500, "internal_error", "internal_error", true),
        (502, "upstream_error", "upstream_error", true),
        (503, "service_unavailable", "service_unavailable", true),
    ]

    @Test(arguments: guideTable)
    func classifiesEveryRowOfTheGuideTable(row: (status: Int, type: String, code: String, retryable: Bool)) throws {
        let body = #"{"error":{"code":"\#(row.code)","message":"Something about \#(row.status)","type":"\#(row.type)"}}"#
        let error = try #require(classify(row.status, body))
        #expect(error.type.rawValue == row.type)
        #expect(error.code == row.code)
        #expect(error.message == "Something about \(row.status)")
        #expect(error.retryable == row.retryable)
    }

    @Test(arguments: guideTable)
    func derivesTheTypeFromTheStatusWhenTheBodyHasNone(row: (status: Int, type: String, code: String, retryable: Bool)) throws {
        let error = try #require(classify(row.status, ""))
        #expect(error.type.rawValue == row.type)
        // A rate limit is found by one code whatever the body; other empty bodies say what they were.
        #expect(error.code == (row.status == 429 ? "rate_limit_exceeded" : "empty_body"))
        #expect(error.message == "HTTP \(row.status) with an empty body")
        #expect(error.retryable == row.retryable)
    }

    @Test(arguments: [
        (408, "timeout_error", true), (409, "conflict_error", true), (413, "request_too_large", false),
        (422, "unprocessable_entity_error", false), (504, "timeout_error", true), (529, "overloaded_error", true),
        (418, "unknown_error", false), (599, "unknown_error", true), (451, "unknown_error", false),
    ])
    func classifiesStatusesBeyondTheGuide(status: Int, type: String, retryable: Bool) throws {
        let error = try #require(classify(status, "oops"))
        #expect(error.type.rawValue == type)
        #expect(error.retryable == retryable)
        #expect(error.message == "oops")
        #expect(error.code == (status == 529 ? "overloaded" : "non_json_body"))
    }

    @Test func successIsNoError() {
        #expect(classify(200, #"{"id":"chatcmpl-1"}"#) == nil)
        #expect(classify(304, "") == nil)
    }

    @Test func readsOpenAIShapeWithParamAndNullCode() throws {
        let body = #"{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error","param":"temperature","code":null}}"#
        let error = try #require(classify(400, body))
        #expect(error.type == .invalidRequest)
        #expect(error.code == "")
        #expect(error.message == "Invalid value for 'temperature'")
    }

    @Test func readsAnthropicShape() throws {
        let body = #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
        let error = try #require(classify(529, body))
        #expect(error.type == .overloaded)
        #expect(error.message == "Overloaded")
        #expect(error.retryable)
    }

    @Test func readsNumericCodes() throws {
        let error = try #require(classify(500, #"{"error":{"code":500,"message":"boom","type":"internal_error"}}"#))
        // A number is the provider's code, kept as sent; it names no cause to filter by.
        #expect(error.providerCode == "500")
        #expect(error.code == "")
    }

    @Test func readsAnHTMLGatewayPageByItsTitle() throws {
        let page = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
        let error = try #require(classify(502, page))
        #expect(error.type == .upstream)
        #expect(error.code == "html_body")
        #expect(error.message == "502 Bad Gateway")
    }

    @Test func readsAnHTMLPageWithoutTitleByItsText() throws {
        let error = try #require(classify(503, "<html><body><p>Service   temporarily\nunavailable</p></body></html>"))
        #expect(error.message == "Service temporarily unavailable")
    }

    @Test func survivesInvalidUTF8() throws {
        let bytes: [UInt8] = Array(#"{"error":{"message":"bad "#.utf8) + [0xFF, 0xFE] + Array(#"","type":"internal_error"}}"#.utf8)
        let error = try #require(Classifier.classify(status: 500, body: bytes, now: now))
        #expect(error.type == .internal)
        #expect(error.message.hasPrefix("bad "))
    }

    @Test func readsTheFieldsOfTruncatedJSON() throws {
        let error = try #require(classify(429, #"{"error":{"code":"rate_limit_exceeded","type":"rate_limit_error","message":"Rate limit reac"#))
        #expect(error.type == .rateLimit)
        #expect(error.code == "rate_limit_exceeded")
        #expect(error.message == "Rate limit reac")
    }

    @Test func parsesOnlyTheFirst64KiB() throws {
        let filler = String(repeating: "x", count: 70 * 1024)
        let body = #"{"error":{"type":"internal_error","code":"c1","message":"\#(filler)"}}"#
        let error = try #require(classify(500, body))
        #expect(error.type == .internal)
        #expect(error.code == "c1")
        #expect(error.message.count == CallError.maxMessageLength)
    }

    @Test func keepsTheStartOfAnUnparseableBody() throws {
        let error = try #require(classify(500, "{not json at all"))
        #expect(error.type == .internal)
        #expect(error.code == "non_json_body")
        #expect(error.message == "{not json at all")
    }

    @Test func shouldRetryHeaderOverridesTheStatus() throws {
        #expect(try #require(classify(400, "", headers: ["X-Should-Retry": "true"])).retryable)
        #expect(try #require(classify(503, "", headers: ["x-should-retry": "false"])).retryable == false)
    }

    @Test func carriesTheRetryDelay() throws {
        let error = try #require(classify(429, "", headers: ["retry-after": "2"]))
        #expect(error.retryAfterMs == 2_000)
    }

    @Test func redactsKeysInMessages() throws {
        let error = try #require(classify(401, #"{"error":{"code":"invalid_api_key","message":"Incorrect API key provided: sk-proj-abcdefgh12345678XYZ9.","type":"authentication_error"}}"#))
        #expect(error.message == "Incorrect API key provided: sk-***XYZ9.")
    }

    @Test func transportFailuresAreRetryable() {
        let connection = Classifier.connectionFailure(message: "Connection refused")
        #expect(connection.type == .connection && connection.retryable)
        let timeout = Classifier.timeout(message: "No response in 60s")
        #expect(timeout.type == .timeout && timeout.retryable)
    }
}
