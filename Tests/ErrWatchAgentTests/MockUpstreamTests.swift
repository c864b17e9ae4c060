@testable import ErrWatchAgent
@testable import ErrWatchMock
import ErrWatchTestKit
import Foundation
import Testing

/// The fake upstream on its own, over raw sockets: what a client of the real API relies on.
@Suite struct MockUpstreamTests {
    static let body = #"{"model":"gpt-4o","messages":[]}"#

    static func request(_ path: String = "/v1/chat/completions", body: String = body, length: Int? = nil, extra: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test\r\nContent-Type: application/json\r\n" +
            "Content-Length: \(length ?? body.utf8.count)\r\n\(extra)Connection: close\r\n\r\n\(body)"
    }

    @Test func itAnswersTheAPIAndClosesWhenAsked() async throws {
        try await Harness.with { harness in
            let port = Int(harness.upstreamURL.split(separator: ":").last!.prefix { $0.isNumber })!
            let chat = try await RawConnection.exchange(port: port, Self.request())
            #expect(chat.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(chat.contains("\r\nconnection: close\r\n") && chat.contains("\r\nx-ratelimit-remaining-requests: "))
            #expect(chat.hasSuffix(#""usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}"#))

            let limited = try await RawConnection.exchange(port: port, Self.request(extra: "x-mock-status: 429\r\n"))
            #expect(limited.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n"))
            #expect(limited.contains("\r\nretry-after: 1\r\n") && limited.contains("\r\nx-ratelimit-reset-requests: 1s\r\n"))
            #expect(!limited.contains("6m0s"))
            #expect(limited.hasSuffix(#"{"error":{"code":"rate_limit_exceeded","message":"Rate limit reached for gpt-4o: 500 requests per minute. Please try again in 1s.","type":"rate_limit_error"}}"#))

            let unknown = try await RawConnection.exchange(port: port, Self.request("/v1/nothing"))
            #expect(unknown.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
            #expect(unknown.hasSuffix(#"{"error":{"code":"unknown_url","message":"Unknown request URL: POST /v1/nothing.","type":"not_found_error"}}"#))
        }
    }

    @Test func aBodyOverItsLimitIs413InTheUnifiedBody() async throws {
        var mock = Harness.quietMock()
        mock.maxBodyBytes = 64 << 10
        try await Harness.with(mock: mock) { harness in
            let port = Int(harness.upstreamURL.split(separator: ":").last!.prefix { $0.isNumber })!
            let large = String(repeating: "x", count: mock.maxBodyBytes + 1)
            let reply = try await RawConnection.exchange(port: port, Self.request(body: large))
            #expect(reply.hasPrefix("HTTP/1.1 413 Payload Too Large\r\n"))
            #expect(reply.hasSuffix(#"{"error":{"code":"request_too_large","message":"The request body is larger than 64KiB.","type":"invalid_request_error"}}"#))
        }
    }

    @Test func aStreamWithPausesArrivesWholeAndInOrder() async throws {
        var mock = Harness.quietMock()
        mock.streamChunks = 4
        mock.chunkDelayMs = 20
        try await Harness.with(mock: mock) { harness in
            let port = Int(harness.upstreamURL.split(separator: ":").last!.prefix { $0.isNumber })!
            let reply = try await RawConnection.exchange(port: port, Self.request(body: #"{"model":"gpt-4o","stream":true}"#))
            #expect(reply.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(reply.contains("\r\ncontent-type: text/event-stream\r\n") && reply.contains("\r\ntransfer-encoding: chunked\r\n"))
            let tokens = (0..<4).map { reply.range(of: "token\($0) ")?.lowerBound }
            #expect(tokens.allSatisfy { $0 != nil })
            #expect(zip(tokens, tokens.dropFirst()).allSatisfy { $0! < $1! })
            #expect(reply.contains("data: [DONE]") && reply.hasSuffix("0\r\n\r\n"))
            #expect(harness.upstream.abandonedStreams == 0)
        }
    }
}
