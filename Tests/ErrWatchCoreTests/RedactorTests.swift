import ErrWatchCore
import Testing

@Suite struct RedactorTests {
    @Test(arguments: [
        ("key sk-abcdefghijklmnop1234 used", "key sk-***1234 used"),
        ("sk-proj-AbCdEfGh_IjKl-MnOp9999", "sk-***9999"),
        ("sk-ant-api03-xxxxxxxxxxxxxxxxxxxxZZZZ and sk-other12345678WXYZ", "sk-***ZZZZ and sk-***WXYZ"),
        ("Authorization: Bearer abc.def-ghi_123", "Authorization: Bearer ***"),
        ("authorization: bearer   eyJhbGciOi==", "authorization: bearer ***"),
        ("\"Bearer sk-abcdefghijkl9876\"", "\"Bearer ***\""),
        // Glued to a name by an underscore, percent-encoded, or a JWT without the word Bearer.
        ("my_sk-abcdefghijklmnop1234", "my_sk-***1234"),
        ("key=sk%2Dproj-abcdefghijkl5678&x=1", "key=sk-***5678&x=1"),
        ("Authorization=Bearer%20abc.def-ghi_123", "Authorization=Bearer ***"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U expired",
         "token eyJ*** expired"),
    ])
    func masksKeysAndBearerTokens(input: String, expected: String) {
        #expect(Redactor.redact(input) == expected)
    }

    @Test(arguments: ["task-sk-abcdefghijklmnop", "sk-short", "risk-free", "no secrets here", "Bearer", ""])
    func leavesOtherTextAlone(input: String) {
        #expect(Redactor.redact(input) == input)
    }

    @Test func callErrorsAreAlwaysRedacted() {
        let error = CallError(type: .authentication, message: "bad key sk-live0123456789abcdef", retryable: false)
        #expect(!error.message.contains("0123456789"))
    }
}
