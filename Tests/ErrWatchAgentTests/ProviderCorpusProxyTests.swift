@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

/// Every real error response in the corpus, replayed byte for byte by the fake upstream and
/// proxied through the agent: the app gets the provider's body untouched, and the recorded error
/// meets the same expectations as the classifier's.
@Suite struct ProviderCorpusProxyTests {
    @Test(arguments: Transport.allCases) func everyCaseIsRecordedAsExpectedThroughTheProxy(transport: Transport) async throws {
        let corpus = try ProviderCorpus.load()
        try await Harness.with(transport: transport) { harness in
            var wrong: [String] = []
            for (index, item) in corpus.cases.enumerated() {
                let headers = try JSONSerialization.data(withJSONObject: item.headers)
                let reply = try await harness.send("/v1/chat/completions", headers: [
                    ("authorization", "Bearer sk-test-abcdefghijklmnop1234"), ("x-errwatch-app", "corpus-\(index)"),
                    ("x-mock-status", String(item.status)), ("x-mock-body", Data(item.body.utf8).base64EncodedString()),
                    ("x-mock-headers", headers.base64EncodedString()),
                ], body: #"{"model":"gpt-4o"}"#)
                if reply.status != item.status || reply.body != item.body {
                    wrong.append("\(item.name): the app got \(reply.status) and \(reply.body == item.body ? "the same" : "a different") body")
                }
            }
            let recorded = try await harness.recorded().errors
            for (index, item) in corpus.cases.enumerated() {
                guard let outcome = recorded.first(where: { $0.app == "corpus-\(index)" }), let error = outcome.error else {
                    wrong.append("\(item.name): not recorded")
                    continue
                }
                let differences = ProviderCorpus.differences(
                    item.expect, type: error.type.rawValue, code: error.code, providerType: error.providerType,
                    providerCode: error.providerCode, retryable: error.retryable, fault: error.fault.rawValue,
                    retryAfterMs: error.retryAfterMs, message: error.message)
                if !differences.isEmpty { wrong.append("\(item.name): \(differences.joined(separator: "; "))") }
            }
            #expect(wrong.isEmpty, "\(wrong.count) of \(corpus.cases.count) cases went wrong:\n\(wrong.joined(separator: "\n"))")
        }
    }
}
