@testable import ErrWatchAgent
import ErrWatchCore
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import Testing

/// The proxy core on its own: one call's events in, with the times they happened, and what
/// the proxy does and records out. Every way a call can end yields exactly one outcome.
@Suite struct ProxyCallTests {
    private let start = NIODeadline.uptimeNanoseconds(5_000_000_000)

    private func call(body: String = #"{"model":"gpt-4o","messages":[]}"#, version: HTTPVersion = .http1_1, keepAlive: Bool = true) -> ProxyCall {
        var info = CallInfo(startedAt: 1_700_000_000_000, started: start, app: "billing", endpoint: "/v1/chat/completions",
                            upstream: Upstream(name: "default", url: "https://api.openai.com/v1", provider: "openai", prefix: ""), attempt: 2)
        info.fields = RequestFields(prefix: Array(body.utf8))
        var configuration = AgentConfiguration()
        configuration.timeoutMs = 60_000
        configuration.streamTimeoutMs = 300_000
        return ProxyCall(call: info, version: version, keepAlive: keepAlive, configuration: configuration)
    }

    private func at(_ milliseconds: Int64) -> NIODeadline { start + .milliseconds(milliseconds) }

    private func head(_ status: HTTPResponseStatus, _ headers: [(String, String)]) -> HTTPResponseHead {
        HTTPResponseHead(version: .http1_1, status: status, headers: NIOHTTP1.HTTPHeaders(headers))
    }

    @Test func aCompleteResponseIsForwardedWithoutConnectionHeadersAndRecordedOnce() throws {
        var call = call()
        call.sent(at: at(1))
        let forwarded = call.responseHead(head(.ok, [
            ("Content-Type", "application/json"), ("Content-Length", "17"), ("Connection", "keep-alive, x-hop"),
            ("X-Hop", "1"), ("Keep-Alive", "timeout=5"), ("x-request-id", "req_1"), ("x-ratelimit-remaining-requests", "99"),
        ]), at: at(120))
        #expect(forwarded.headers.map(\.name) == ["Content-Type", "x-request-id", "x-ratelimit-remaining-requests"])
        #expect(forwarded.contentLength == 17)
        #expect(forwarded.recorded["x-ratelimit-remaining-requests"] == "99" && forwarded.recorded["x-request-id"] == "req_1")
        call.responseBody(ByteBuffer(string: #"{"id":"chatcmpl"}"#), at: at(130))
        let outcomeResult = call.responseEnd(at: at(150))

        let outcome = try #require(outcomeResult)
        #expect(outcome.status == 200 && outcome.error == nil && outcome.model == "gpt-4o" && outcome.app == "billing" && outcome.attempt == 2)
        #expect(outcome.latencyMs == 150 && outcome.timeToHeadersMs == 120 && outcome.requestID == "req_1" && !outcome.streamed)
        // Over: nothing else is recorded, whatever comes after.
        #expect(call.responseEnd(at: at(151)) == nil && call.clientClosed(at: at(152)) == nil)
        #expect(call.upstreamFailed(nil, at: at(153)) == nil && call.deadline == nil && call.state == .ended)
    }

    @Test func anErrorResponseIsClassifiedFromItsBodyAndHeaders() throws {
        var call = call()
        call.sent(at: at(0))
        _ = call.responseHead(head(.tooManyRequests, [("content-type", "application/json"), ("retry-after", "7")]), at: at(40))
        let body = #"{"error":{"message":"Rate limit reached for gpt-4o on tokens per min (TPM)","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#
        // The body arrives cut in two.
        call.responseBody(ByteBuffer(string: String(body.prefix(30))), at: at(41))
        call.responseBody(ByteBuffer(string: String(body.dropFirst(30))), at: at(42))
        let outcomeResult = call.responseEnd(at: at(43))

        let outcome = try #require(outcomeResult)
        #expect(outcome.status == 429 && outcome.error?.type == .rateLimit && outcome.error?.code == "rate_limit_exceeded")
        #expect(outcome.error?.retryable == true && outcome.error?.retryAfterMs == 7_000)
    }

    @Test func anErrorInsideAStreamIsRecordedAndAClientLeavingKeepsIt() throws {
        var call = call(body: #"{"model":"gpt-4o","stream":true}"#)
        #expect(call.timeoutMs == 300_000)
        call.sent(at: at(0))
        _ = call.responseHead(head(.ok, [("content-type", "text/event-stream")]), at: at(10))
        call.responseBody(ByteBuffer(string: "data: {\"choices\":[]}\n\n"), at: at(20))
        call.responseBody(ByteBuffer(string: "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":null}}\n\n"), at: at(30))
        let outcomeResult = call.clientClosed(at: at(40))

        let outcome = try #require(outcomeResult)
        // The stream's own error, not the client's leaving, is what went wrong.
        #expect(outcome.status == 499 && outcome.error?.type == .internal && outcome.streamed)
    }

    @Test func aClientLeavingMidResponseIs499() throws {
        var call = call()
        call.sent(at: at(0))
        _ = call.responseHead(head(.ok, [("content-type", "application/json")]), at: at(10))
        let outcomeResult = call.clientClosed(at: at(20))

        let outcome = try #require(outcomeResult)
        #expect(outcome.status == 499 && outcome.error?.code == "client_closed_request")
        #expect(call.responseEnd(at: at(21)) == nil)
    }

    @Test func anUpstreamThatCannotBeReachedIsA502AnsweredByErrwatch() throws {
        var call = call()
        let endingResult = call.upstreamFailed(IOError(errnoCode: ECONNREFUSED, reason: "connect"), at: at(3))

        let ending = try #require(endingResult)
        guard case .answer(let answer, let outcome) = ending else {
            Issue.record("expected errwatch's own answer, got \(ending)")
            return
        }
        #expect(answer.status == .badGateway && answer.code == "upstream_connect_failed" && answer.message.hasSuffix("the connection was refused."))
        #expect(outcome.status == nil && outcome.error?.type == .connection && outcome.timeToHeadersMs == nil && outcome.latencyMs == 3)
        #expect(call.clientClosed(at: at(4)) == nil)
    }

    @Test func noHeadWithinTheTimeoutIsA504AtTheDeadline() throws {
        var call = call()
        #expect(call.deadline == nil)
        call.sent(at: at(5))
        #expect(call.deadline == at(60_005))
        #expect(call.deadlinePassed(at: at(60_004)) == nil)
        guard case .answer(let answer, let outcome)? = call.deadlinePassed(at: at(60_005)) else {
            Issue.record("expected a 504")
            return
        }
        #expect(answer.status == .gatewayTimeout && answer.message == "The upstream sent no response within 1m.")
        #expect(outcome.error?.type == .timeout && outcome.error?.code == "upstream_timeout" && outcome.status == nil)
    }

    @Test func aResponseSilentForStreamTimeoutIsCutAndEachChunkMovesTheDeadline() throws {
        var call = call(body: #"{"model":"gpt-4o","stream":true}"#)
        call.sent(at: at(0))
        _ = call.responseHead(head(.ok, [("content-type", "text/event-stream")]), at: at(100))
        #expect(call.deadline == at(300_100))
        call.responseBody(ByteBuffer(string: "data: {\"choices\":[]}\n\n"), at: at(200_000))
        #expect(call.deadlinePassed(at: at(300_100)) == nil)
        #expect(call.deadline == at(500_000))
        guard case .cut(let outcome)? = call.deadlinePassed(at: at(500_000)) else {
            Issue.record("expected the stream cut")
            return
        }
        #expect(outcome.status == 200 && outcome.error?.code == "stream_interrupted" && outcome.streamed)
        #expect(outcome.error?.message == "The upstream connection broke before the response ended: it sent nothing for 5m.")
    }

    @Test func anUpstreamGoneMidResponseCutsItWithTheReason() throws {
        var call = call()
        call.sent(at: at(0))
        _ = call.responseHead(head(.ok, [("content-type", "application/json"), ("content-length", "100")]), at: at(10))
        guard case .cut(let outcome)? = call.upstreamFailed(IOError(errnoCode: ECONNRESET, reason: "read"), at: at(20)) else {
            Issue.record("expected the response cut")
            return
        }
        #expect(outcome.error?.message == "The upstream connection broke before the response ended: the connection was reset.")
        #expect(outcome.error?.retryable == true && call.clientClosed(at: at(21)) == nil)
    }

    @Test func anHTTP10ClientIsToldWhetherItsConnectionStays() {
        var unknownLength = call(version: .http1_0, keepAlive: true)
        let closing = unknownLength.responseHead(head(.ok, [("content-type", "text/event-stream")]), at: at(1))
        // No chunked encoding in HTTP/1.0: the end of the body is the end of the connection.
        #expect(closing.headers["connection"] == ["close"] && !unknownLength.keepAlive)

        var knownLength = call(version: .http1_0, keepAlive: true)
        let staying = knownLength.responseHead(head(.ok, [("content-length", "2")]), at: at(1))
        #expect(staying.headers["connection"] == ["keep-alive"] && knownLength.keepAlive)

        var asked = call(keepAlive: false)
        #expect(asked.responseHead(head(.ok, [("content-length", "2")]), at: at(1)).headers["connection"] == ["close"])
    }
}
