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
}
