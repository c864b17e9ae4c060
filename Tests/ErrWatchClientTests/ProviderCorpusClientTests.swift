@testable import ErrWatchClient
import ErrWatchCore
import ErrWatchTestKit
import Foundation
import Testing

/// Every real error response in the corpus, answered by the fake upstream to the client library:
/// the error it throws meets the classifier's expectations, and it retries only what is retryable
/// (never `insufficient_quota`).
@Suite struct ProviderCorpusClientTests {
    @Test func theClientLibraryClassifiesAndRetriesEveryCaseAsExpected() async throws {
        let corpus = try ProviderCorpus.load()
        try await withUpstream { url in
            let observed = Observed()
            var policy = RetryPolicy()
            policy.maxRetries = 2
            let client = ErrWatchClient(baseURL: url, apiKey: "sk-test-0123456789abcdef", policy: policy, recorder: observed, timing: observed.timing)
            var wrong: [String] = []
            for item in corpus.cases {
                let headers = try JSONSerialization.data(withJSONObject: item.headers)
                do {
                    _ = try await client.send(path: "/chat/completions", json: Array(chatBody.utf8), headers: [
                        ("x-mock-status", String(item.status)), ("x-mock-body", Data(item.body.utf8).base64EncodedString()),
                        ("x-mock-headers", headers.base64EncodedString()),
                    ])
                    wrong.append("\(item.name): no error thrown")
                } catch let error as APIError {
                    var differences = ProviderCorpus.differences(
                        item.expect, type: error.type.rawValue, code: error.code, providerType: error.providerType,
                        providerCode: error.providerCode, retryable: error.retryable, fault: error.fault.rawValue,
                        retryAfterMs: error.retryAfter.map { Int64($0.components.seconds * 1_000 + $0.components.attoseconds / 1_000_000_000_000_000) },
                        message: error.message)
                    let expectedAttempts = item.expect.retryable ? policy.maxRetries + 1 : 1
                    if error.attempts != expectedAttempts { differences.append("\(error.attempts) attempts, not \(expectedAttempts)") }
                    if !differences.isEmpty { wrong.append("\(item.name): \(differences.joined(separator: "; "))") }
                }
            }
            try await client.shutdown()
            #expect(wrong.isEmpty, "\(wrong.count) of \(corpus.cases.count) cases went wrong:\n\(wrong.joined(separator: "\n"))")
        }
    }
}
