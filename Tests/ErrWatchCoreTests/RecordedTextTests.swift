import ErrWatchCore
import Testing

@Suite struct RecordedTextTests {
    @Test(arguments: [
        ("x\u{0}", "x\u{FFFD}"),
        ("a\u{0}b", "a\u{FFFD}b"),
        ("tab\there", "tab\u{FFFD}here"),
        ("del\u{7F}", "del\u{FFFD}"),
        ("c1\u{85}\u{9F}", "c1\u{FFFD}\u{FFFD}"),
        ("gpt-4o", "gpt-4o"),
        ("émoji 😀 ¡ ", "émoji 😀 ¡ "),
    ])
    func dimensionsHaveNoControlCharacters(input: String, expected: String) {
        #expect(RecordedText.dimension(input) == expected)
        #expect(CallOutcome(timestamp: 0, app: input, endpoint: input, model: input, status: 200, requestID: input).model == expected)
    }

    @Test func messagesKeepLinesAsSpaces() {
        #expect(RecordedText.message("line one\nline\ttwo\r\n\u{0}", limit: 100) == "line one line two  \u{FFFD}")
    }

    @Test func everyTextFieldFollowsTheRuleAfterInitToo() {
        var outcome = CallOutcome(timestamp: 0, app: "a", endpoint: "e", model: "m", status: 429,
                                  error: CallError(type: ErrorType(rawValue: "t\u{0}"), code: "\u{0}", message: "m\u{0}", retryable: true))
        #expect(outcome.error?.type.rawValue == "t\u{FFFD}")
        #expect(outcome.error?.code == "\u{FFFD}")
        #expect(outcome.error?.message == "m\u{FFFD}")
        outcome.model = "late\u{0}"
        outcome.requestID = "req\u{1B}[31m"
        outcome.error?.code = "c\u{7}"
        #expect(outcome.model == "late\u{FFFD}")
        #expect(outcome.requestID == "req\u{FFFD}[31m")
        #expect(outcome.error?.code == "c\u{FFFD}")
    }

    @Test func dimensionsAreBounded() {
        let long = String(repeating: "m", count: 10_000)
        #expect(RecordedText.dimension(long).unicodeScalars.count == RecordedText.maxDimensionLength)
    }

    @Test func aKeyAtTheMessageCutIsMaskedNotHalfKept() {
        let key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
        let text = String(repeating: "x ", count: 495) + key
        let message = CallError(type: .authentication, message: text, retryable: false).message
        #expect(message.unicodeScalars.count <= CallError.maxMessageLength)
        #expect(!message.contains("abcdefgh"), "the key's start survived the cut: \(message.suffix(20))")
    }
}
