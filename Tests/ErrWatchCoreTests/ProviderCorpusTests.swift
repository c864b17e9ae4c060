import ErrWatchCore
import ErrWatchTestKit
import Testing

/// Every real error response in the corpus, through the classifier.
@Suite struct ProviderCorpusTests {
    @Test func theCorpusIsBroadEnough() throws {
        let corpus = try ProviderCorpus.load()
        #expect(corpus.cases.count >= 40)
        #expect(Set(corpus.cases.map { $0.provider.split(separator: " ").first ?? "" }).count >= 10)
        #expect(Set(corpus.cases.map(\.name)).count == corpus.cases.count, "case names are unique")
        #expect(corpus.cases.allSatisfy { !$0.source.isEmpty })
    }

    @Test func everyCaseIsClassifiedAsExpected() throws {
        let corpus = try ProviderCorpus.load()
        var wrong: [String] = []
        for item in corpus.cases {
            let error = try #require(Classifier.classify(
                status: item.status, headers: HTTPHeaders(item.headers.map { ($0.key, $0.value) }), body: Array(item.body.utf8), now: 0))
            let differences = ProviderCorpus.differences(
                item.expect, type: error.type.rawValue, code: error.code, providerType: error.providerType,
                providerCode: error.providerCode, retryable: error.retryable, fault: error.fault.rawValue,
                retryAfterMs: error.retryAfterMs, message: error.message)
            if !differences.isEmpty { wrong.append("\(item.name): \(differences.joined(separator: "; "))") }
            #expect(ErrorType.members.contains(error.type), "\(item.name): \(error.type) is not a member of the closed set")
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(corpus.cases.count) cases classified wrongly:\n\(wrong.joined(separator: "\n"))")
    }
}
