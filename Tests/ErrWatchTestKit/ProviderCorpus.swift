import Foundation

/// The corpus of real provider error responses in `Tests/Corpus/provider-errors.json`, which
/// the classifier, the proxy and the client library tests all run with the same expectations.
public struct ProviderCorpus: Decodable, Sendable {
    /// One real response and what errwatch must make of it.
    public struct Case: Decodable, Sendable {
        public var name: String
        public var provider: String
        /// Where it was seen: a public thread or a source file.
        public var source: String
        public var status: Int
        public var headers: [String: String]
        public var body: String
        public var expect: Expectation
    }

    /// What errwatch records for a case. Nil fields are not checked.
    public struct Expectation: Decodable, Sendable {
        public var type: String
        public var code: String
        public var providerType: String
        public var providerCode: String
        public var retryable: Bool
        public var fault: String?
        public var retryAfterMs: Int64?
        public var message: String?

        enum CodingKeys: String, CodingKey {
            case type, code, retryable, fault, message
            case providerType = "provider_type", providerCode = "provider_code", retryAfterMs = "retry_after_ms"
        }
    }

    public var cases: [Case]

    /// The corpus, read from the repository.
    public static func load() throws -> ProviderCorpus {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Corpus/provider-errors.json")
        return try JSONDecoder().decode(ProviderCorpus.self, from: Data(contentsOf: file))
    }

    /// What differs between `expectation` and what was recorded, one phrase each; empty when all agree.
    public static func differences(
        _ expectation: Expectation, type: String, code: String, providerType: String, providerCode: String,
        retryable: Bool, fault: String, retryAfterMs: Int64?, message: String
    ) -> [String] {
        var found: [String] = []
        func check(_ name: String, _ actual: String, _ expected: String?) {
            if let expected, actual != expected { found.append("\(name) \(actual.debugDescription), not \(expected.debugDescription)") }
        }
        check("type", type, expectation.type)
        check("code", code, expectation.code)
        check("provider type", providerType, expectation.providerType)
        check("provider code", providerCode, expectation.providerCode)
        check("retryable", String(retryable), String(expectation.retryable))
        check("fault", fault, expectation.fault)
        if let expected = expectation.retryAfterMs, retryAfterMs != expected { found.append("retry after \(retryAfterMs.map(String.init) ?? "none"), not \(expected)") }
        check("message", message, expectation.message)
        return found
    }
}
