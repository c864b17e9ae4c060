import ErrWatchCore
import Testing

/// Fields read from JSON a parser refuses: the one reader the classifier, the request reader and
/// the stream scanner share.
struct JSONFieldScannerTests {
    @Test func readsStringsBeforeTheDamage() {
        // A 429 body cut by the size limit in the middle of its message.
        let cut = #"{"error": {"type" : "tokens", "code":"rate_limit_exceeded", "message": "Rate limit reached for gpt-4o in org"#[...]
        #expect(JSONFieldScanner.string("type", in: cut) == "tokens")
        #expect(JSONFieldScanner.string("code", in: cut) == "rate_limit_exceeded")
        // Only a message may be cut: a cut type or code would be a different word.
        #expect(JSONFieldScanner.string("message", in: cut) == nil)
        #expect(JSONFieldScanner.string("message", in: cut, acceptingUnterminated: true) == "Rate limit reached for gpt-4o in org")
    }

    @Test func skipsValuesTheCallerRefusesAndKeysThatAreValues() {
        let anthropic = #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded \"now\""}"#[...]
        #expect(JSONFieldScanner.string("type", in: anthropic) { $0 != "error" } == "overloaded_error")
        #expect(JSONFieldScanner.string("message", in: anthropic) == #"Overloaded "now""#)
        // "error" first occurs as a value (no colon after it); the key comes later.
        #expect(Array(JSONFieldScanner.values(of: "error", in: anthropic)).count == 1)
    }

    @Test func readsLiteralsNotStrings() {
        let body = #"{"model":"gpt-4o","stream" :true,"n":2}"#[...]
        #expect(JSONFieldScanner.literal("stream", in: body) == "true")
        #expect(JSONFieldScanner.literal("n", in: body) == "2")
        #expect(JSONFieldScanner.literal("model", in: body) == nil)
        #expect(JSONFieldScanner.string("absent", in: body) == nil)
    }

    @Test func theStreamScannerTellsErrorObjectsFromChunksThatMentionErrors() {
        #expect(StreamScanner.isErrorObject(#"{"error": {"message":"overloaded"}}"#))
        #expect(StreamScanner.isErrorObject(#"{"type":"error","error":{"type":"overloaded_error"}}"#))
        #expect(!StreamScanner.isErrorObject(#"{"choices":[{"delta":{"content":"the \"error\": {x} case"}}]}"#))
        #expect(!StreamScanner.isErrorObject(#"{"choices":[],"error":null}"#))
    }
}
