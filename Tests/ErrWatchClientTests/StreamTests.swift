@testable import ErrWatchClient
import ErrWatchCore
import Foundation
import Testing

@Suite struct StreamTests {
    func client(_ url: String, _ observed: Observed) -> ErrWatchClient {
        ErrWatchClient(baseURL: url, apiKey: "sk-test-0123456789abcdef", recorder: observed, timing: observed.timing, seed: 3)
    }

    @Test func chunksArriveDecodedAndTheCallIsRecordedOnce() async throws {
        try await withUpstream(streamChunks: 6) { url in
            let observed = Observed()
            let client = client(url, observed)
            var text = ""
            for try await chunk in client.streamChatCompletions(json: chatBody) {
                text += chunk.choices.first?.delta.content ?? ""
                #expect(chunk.model == "gpt-4o")
            }
            #expect(text == "token0 token1 token2 token3 token4 token5 ")
            #expect(observed.recorded.count == 1)
            let outcome = try #require(observed.recorded.first)
            #expect(outcome.streamed && outcome.error == nil && outcome.status == 200 && outcome.timeToHeadersMs != nil)
            // The opening role-only chunk and six with content; the first token is timed.
            #expect(outcome.chunks == 7 && outcome.timeToFirstTokenMs != nil)
            try await client.shutdown()
        }
    }

    /// The time to first token is to the first content, which the upstream sends 400 ms after
    /// the headers and the role-only chunk: the headers' time is not taken for it.
    @Test func theFirstTokenIsTimedAtTheFirstContentNotTheHeaders() async throws {
        try await withUpstream { url in
            let observed = Observed()
            let client = client(url, observed)
            for try await _ in client.streamChatCompletions(json: chatBody, headers: [("x-mock-first-token-ms", "400")]) {}
            let outcome = try #require(observed.recorded.first)
            let headers = try #require(outcome.timeToHeadersMs), firstToken = try #require(outcome.timeToFirstTokenMs)
            // Lower bounds only: a loaded machine delays what the client sees, never hastens it.
            #expect(firstToken >= 400 && firstToken >= headers, "headers \(headers) ms, first token \(firstToken) ms")
            try await client.shutdown()
        }
    }

    @Test func anErrorInsideTheStreamEndsItWithAnAPIError() async throws {
        try await withUpstream { url in
            let observed = Observed()
            let client = client(url, observed)
            var received = 0
            let error = await #expect(throws: APIError.self) {
                for try await _ in client.streamChatCompletions(json: chatBody, headers: [("x-mock-stream-error", "true")]) { received += 1 }
            }
            // The role-only opening chunk and four with content came before the error.
            #expect(received == 5)
            #expect(error?.type == .upstream && error?.message == "The upstream model failed mid-stream." && error?.status == 200)
            #expect(observed.recorded.count == 1 && observed.recorded.first?.error?.type == .upstream)
            try await client.shutdown()
        }
    }

    @Test func aStreamCutMidwayEndsWithAnAPIError() async throws {
        try await withUpstream { url in
            let observed = Observed()
            let client = client(url, observed)
            let error = await #expect(throws: APIError.self) {
                for try await _ in client.streamChatCompletions(json: chatBody, headers: [("x-mock-cut", "true")]) {}
            }
            #expect(["stream_interrupted", "stream_incomplete"].contains(error?.code ?? ""))
            #expect(observed.recorded.count == 1 && observed.recorded.first?.error != nil)
            try await client.shutdown()
        }
    }

    @Test func failuresBeforeTheStreamOpensAreRetried() async throws {
        try await withUpstream { url in
            let observed = Observed()
            let client = client(url, observed)
            let error = await #expect(throws: APIError.self) {
                for try await _ in client.streamChatCompletions(json: chatBody, headers: [("x-mock-status", "503")]) {}
            }
            #expect(error?.attempts == 4 && error?.status == 503)
            #expect(observed.waited.count == 3)
            #expect(observed.recorded.allSatisfy { $0.streamed })
            try await client.shutdown()
        }
    }

    @Test func cancellingDuringAStreamStopsIt() async throws {
        // A stream that would last 50 s: only cancellation ends it soon.
        try await withUpstream(streamChunks: 50, chunkDelayMs: 1_000) { url in
            let client = ErrWatchClient(baseURL: url, apiKey: "sk-test-0123456789abcdef")
            let (firstChunk, signal) = AsyncStream.makeStream(of: Void.self)
            let task = Task {
                for try await _ in client.streamChatCompletions(json: chatBody) { signal.yield() }
            }
            var iterator = firstChunk.makeAsyncIterator()
            await iterator.next()
            let started = ContinuousClock.now
            task.cancel()
            let result = await task.result
            #expect(started.duration(to: .now) < .seconds(10))
            #expect(throws: CancellationError.self) { try result.get() }
            try await client.shutdown()
        }
    }
}
