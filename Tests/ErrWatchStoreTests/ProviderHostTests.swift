import ErrWatchCore
@testable import ErrWatchStore
import ErrWatchTestKit
import Foundation
import GRDB
import Testing

/// Provider and host are dimensions like app and model: recorded with every call, grouped and
/// filtered by in rates and in the error history.
@Suite struct ProviderHostTests {
    private func outcome(_ ts: Int64, provider: String, host: String = "", failed: Bool = false) -> CallOutcome {
        CallOutcome(timestamp: ts, app: "chat", endpoint: "chat/completions", model: "gpt-4o", provider: provider, host: host,
                    status: failed ? 429 : 200,
                    error: failed ? CallError(type: .rateLimit, code: "rate_limit_exceeded", message: "slow down", retryable: true) : nil,
                    latencyMs: 100)
    }

    @Test func callsWithoutAHostAreRecordedUnderTheStoresAndBothDimensionsGroupAndFilter() throws {
        var store = try Store.inMemory()
        store.hostName = "web-1"
        try store.record([
            outcome(midnight - 60_000, provider: "openai"),
            outcome(midnight - 60_000, provider: "openai", failed: true),
            outcome(midnight - 60_000, provider: "anthropic"),
            outcome(midnight - 50_000, provider: "anthropic", host: "web-2", failed: true),
        ])
        let range = Filter(since: midnight - 3_600_000, until: midnight)
        let byHost = try store.rates(range, by: [.host]).map { ($0.group, $0.counts.calls, $0.counts.errors) }
        #expect(byHost.sorted { $0.0.lexicographicallyPrecedes($1.0) }.map { "\($0.0) \($0.1) \($0.2)" } == ["[\"web-1\"] 3 1", "[\"web-2\"] 1 1"])
        let byProvider = try store.rates(range, by: [.provider]).map { "\($0.group[0]) \($0.counts.calls) \($0.counts.errors)" }.sorted()
        #expect(byProvider == ["anthropic 2 1", "openai 2 1"])

        var onlyWeb2 = range
        onlyWeb2.hosts = ["web-2"]
        #expect(try store.rates(onlyWeb2, by: []).first?.counts.calls == 1)
        let events = try store.errors(onlyWeb2, limit: 10).events
        #expect(events.map(\.outcome.host) == ["web-2"])
        #expect(events.map(\.outcome.provider) == ["anthropic"])

        var onlyOpenAI = range
        onlyOpenAI.providers = ["openai"]
        let openAIErrors = try store.errors(onlyOpenAI, limit: 10).events
        #expect(openAIErrors.map(\.outcome.host) == ["web-1"], "an error without a host takes the store's")
    }

    @Test func theSameCallsFromTwoHostsAreTwoSeries() throws {
        let store = try Store.inMemory()
        try store.record([outcome(midnight - 60_000, provider: "openai", host: "a"), outcome(midnight - 60_000, provider: "openai", host: "b")])
        let series = try store.seriesDimensions().values.map(\.host).sorted()
        #expect(series == ["a", "b"])
    }

    @Test func aFileFromBeforeHostsKeepsItsCountsUnderAnUnknownHostAndGetsAnIdentity() throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        let path = directory.path("v9.db")
        let old = Store(writer: try DatabasePool(path: path))
        try old.migrate(upTo: 9)
        try old.writer.write { db in
            try db.execute(sql: """
                INSERT INTO series (id, app, endpoint, model, status, type, code) VALUES (7, 'chat', 'chat/completions', 'gpt-4o', 200, '', '');
                INSERT INTO call_counts (bucket, series, calls, latency_calls, latency_ms_sum) VALUES (?, 7, 3, 3, 300);
                """, arguments: [midnight - 60_000])
        }
        try (old.writer as! DatabasePool).close()

        var store = try Store.open(path: path)
        let range = Filter(since: midnight - 3_600_000, until: midnight)
        #expect(try store.rates(range, by: [.host, .provider]).map { "\($0.group) \($0.counts.calls)" } == [#"["", ""] 3"#])
        #expect(try store.seriesDimensions()[7]?.model == "gpt-4o", "series ids are kept")
        let identity = try store.identity()
        #expect(identity.id.count == 32)
        #expect(identity.host == "")
        store.hostName = "web-9"
        try store.claimIdentity()
        #expect(try store.identity() == Store.Identity(id: identity.id, host: "web-9"))
    }
}
