@testable import ErrWatchAgent
import ErrWatchCore
@testable import ErrWatchMock
import ErrWatchStore
import Foundation
import Testing

/// The fake upstream answers in real providers' dialects; whichever it speaks, the agent records
/// the same member of the closed taxonomy for a status, and one code finds every rate limit.
@Suite struct MockDialectTests {
    static let statuses = [400, 401, 403, 404, 429, 500, 502, 503, 529]

    @Test(arguments: MockUpstream.Dialect.allCases)
    func everyDialectIsRecordedInTheOneTaxonomy(dialect: MockUpstream.Dialect) async throws {
        var mock = Harness.quietMock()
        mock.dialect = dialect
        try await Harness.with(mock: mock) { harness in
            for status in Self.statuses {
                let reply = try await harness.send("/v1/chat/completions", headers: [
                    ("authorization", "Bearer sk-test-abcdefghijklmnop1234"), ("x-mock-status", String(status)), ("x-errwatch-app", "s\(status)"),
                ], body: #"{"model":"gpt-4o"}"#)
                #expect(reply.status == status)
            }
            let recorded = try await harness.recorded().errors
            for status in Self.statuses {
                let error = try #require(recorded.first { $0.app == "s\(status)" }?.error, "\(dialect) \(status) not recorded")
                #expect(error.type == ErrorType.forStatus(status), "\(dialect) \(status): \(error.type) (\(error.providerType))")
                #expect(!error.message.isEmpty && !error.message.hasPrefix("HTTP "), "\(dialect) \(status): no message read")
                if status == 429 { #expect(error.code == "rate_limit_exceeded", "\(dialect): \(error.code)") }
            }
        }
    }
}
