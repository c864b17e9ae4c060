import ErrWatchCore
import Testing

/// Errors inside 200 streams, judged by the same rules as error bodies (the event has no status
/// of its own, so its type decides), and chunks that merely mention an error left alone.
@Suite struct StreamScannerTests {
    static func scan(_ text: String) -> StreamScanner {
        var scanner = StreamScanner(now: 0)
        scanner.feed(Array(text.utf8))
        return scanner
    }

    @Test func anAnthropicErrorEventIsItsType() throws {
        let scanner = Self.scan("""
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1"}}

            event: error
            data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}

            """)
        let error = try #require(scanner.error)
        #expect(error.type == .overloaded && error.code == "overloaded" && error.providerType == "overloaded_error")
        #expect(error.retryable)
    }

    @Test func anOpenAIErrorChunkMapsItsProviderWordIntoTheSet() throws {
        let scanner = Self.scan("""
            data: {"id":"chatcmpl-1","choices":[{"delta":{"content":"Hel"}}]}

            data: {"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}

            """)
        let error = try #require(scanner.error)
        #expect(error.type == .internal && error.providerType == "server_error")
    }

    @Test func aChunkThatMentionsAnErrorIsNotOne() {
        let scanner = Self.scan("""
            data: {"id":"chatcmpl-1","choices":[{"delta":{"content":"the \\"error\\": field of the body"}}]}

            data: [DONE]

            """)
        #expect(scanner.error == nil)
        #expect(scanner.sawEnd)
    }

    /// The proxy feeds chunks as the network cuts them: a line, a field name or the word
    /// `"error"` may be split anywhere, and the verdict must not change.
    @Test func theVerdictIsTheSameWhereverTheChunksAreCut() throws {
        let stream = Array("""
            data: {"id":"chatcmpl-1","choices":[{"delta":{"content":"Hel"}}]}
            
            event: error
            data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}

            data: [DONE]

            """.utf8)
        for cut in 1..<stream.count {
            var scanner = StreamScanner(now: 0)
            stream[..<cut].withUnsafeBytes { scanner.feed($0) }
            stream[cut...].withUnsafeBytes { scanner.feed($0) }
            #expect(scanner.error?.type == .overloaded, "cut at \(cut)")
            #expect(scanner.sawEnd && scanner.sawEvent, "cut at \(cut)")
        }
        // Byte by byte too.
        var scanner = StreamScanner(now: 0)
        for byte in stream { [byte].withUnsafeBytes { scanner.feed($0) } }
        #expect(scanner.error?.type == .overloaded && scanner.sawEnd)
    }

    @Test func aLineLongerThanTheLimitIsSkippedWholeAndTheNextIsRead() throws {
        let long = "data: {\"choices\":[{\"delta\":{\"content\":\"" + String(repeating: "x", count: StreamScanner.maxLineBytes) + "\"}}]}\n\n"
        let error = #"data: {"error":{"type":"server_error","message":"boom"}}"# + "\n\n"
        var scanner = StreamScanner(now: 0)
        // The long line in pieces, as the network delivers it.
        let bytes = Array((long + error).utf8)
        for start in stride(from: 0, to: bytes.count, by: 4_096) {
            bytes[start..<min(start + 4_096, bytes.count)].withUnsafeBytes { scanner.feed($0) }
        }
        #expect(scanner.error?.type == .internal)
    }

    /// The first content, as each provider's stream carries it: not OpenAI's role-only first
    /// chunk, not Anthropic's `message_start` or empty `content_block_start`.
    @Test(arguments: [
        ("openai", #"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
         #"data: {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#),
        ("openai tool call", #"data: {"choices":[{"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"function":{"name":"f","arguments":""}}]}}]}"#,
         #"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a"}}]}}]}"#),
        ("anthropic", "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"content\":[]}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
         "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}"),
        ("gemini", #"data: {"candidates": [{"content": {"role": "model", "parts": []}}]}"#,
         #"data: {"candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}}]}"#),
        ("responses", "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"output\":[]}}",
         "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}"),
    ])
    func theFirstContentIsTheFirstNonEmptyText(dialect: String, opening: String, content: String) {
        var scanner = StreamScanner(now: 0)
        scanner.feed(Array((opening + "\n\n").utf8))
        #expect(!scanner.sawContent, "\(dialect): the opening is not content")
        scanner.feed(Array((content + "\n\n").utf8))
        #expect(scanner.sawContent, "\(dialect)")
    }

    /// Chunks are the `data:` events, the end marker not counted; an error event is no content.
    @Test func chunksAreCountedAndAnErrorIsNoContent() {
        let scanner = Self.scan("""
            data: {"choices":[{"delta":{"role":"assistant","content":""}}]}

            data: {"error":{"type":"server_error","message":"The model \\"text\\": failed"}}

            data: [DONE]

            """)
        #expect(scanner.chunks == 2 && scanner.error != nil && !scanner.sawContent)
        let healthy = Self.scan(String(repeating: #"data: {"choices":[{"delta":{"content":"x"}}]}"# + "\n\n", count: 5) + "data: [DONE]\n\n")
        #expect(healthy.chunks == 5 && healthy.sawContent && healthy.sawEnd)
    }
}
