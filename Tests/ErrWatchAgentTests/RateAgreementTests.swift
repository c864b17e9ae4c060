@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import Foundation
import NIOHTTP1
import Testing

/// One rule for what a rate of a type, a code or a fault means, whoever asks: the store (the
/// CLI's `rates`), the API, the CSV export and an alert rule give the same calls and errors.
@Suite struct RateAgreementTests {
    @Test(arguments: [ErrWatchCore.Dimension.type, .code, .fault])
    func ratesByAnErrorDimensionAgreeEverywhere(dimension: ErrWatchCore.Dimension) async throws {
        try await Harness.with { harness in
            let now = Timestamp.now()
            let ts = Timestamp.iso8601(now - 120_000)
            var lines: [String] = []
            for (status, type, code, count) in [(200, "", "", 40), (429, "rate_limit_error", "rate_limit_exceeded", 5),
                                                (400, "invalid_request_error", "context_length_exceeded", 3), (0, "timeout_error", "", 2),
                                                (402, "insufficient_quota", "insufficient_quota", 1), (502, "upstream_error", "upstream_connect_failed", 1)] {
                for _ in 0..<count {
                    let error = type.isEmpty ? "" : #","type":"\#(type)","code":"\#(code)""#
                    lines.append(#"{"ts":"\#(ts)","status":\#(status),"app":"a","model":"m"\#(error)}"#)
                }
            }
            let ingested = try await harness.send("/api/v1/events", headers: [("content-type", "application/x-ndjson")], body: nil,
                                                  rawBody: lines.joined(separator: "\n"))
            #expect(ingested.status == 202)
            await harness.agent.writer.flush()

            let filter = Filter(since: now - 3_600_000, until: now + 60_000)
            let store = Dictionary(uniqueKeysWithValues: try harness.agent.store.rates(filter, by: [dimension]).map { ($0.group[0], ($0.calls, $0.errors)) })
            #expect(store.values.allSatisfy { $0.0 == 52 }, "every group's calls are all calls: \(store)")
            #expect(store.values.map(\.1).reduce(0, +) == 12)

            // The API.
            let api = try await harness.send("/api/v1/rates?window=1h&by=\(dimension.rawValue)", method: .GET)
            let rows = try JSONSerialization.jsonObject(with: Data(api.body.utf8)) as? [[String: Any]] ?? []
            let viaAPI = Dictionary(uniqueKeysWithValues: rows.map { ("\($0[dimension.rawValue] ?? "")", (($0["calls"] as? Int).map(Int64.init) ?? -1, ($0["errors"] as? Int).map(Int64.init) ?? -1)) })
            #expect(viaAPI.mapValues { "\($0.0)/\($0.1)" } == store.mapValues { "\($0.0)/\($0.1)" })

            // An alert rule grouped the same way.
            let source = StoreCountSource(store: harness.agent.store)
            let alert = try source.counts(scope: RuleScope(), groupBy: [dimension], from: filter.since, to: filter.until)
            #expect(alert.mapValues { "\($0.calls)/\($0.errors)" } == Dictionary(uniqueKeysWithValues: store.map { ([$0.key], "\($0.value.0)/\($0.value.1)") }))

            // The CSV export, summed over its buckets.
            let csv = try await harness.send("/api/v1/export.csv?report=rates&since=1h&bucket=1h&by=\(dimension.rawValue)", method: .GET)
            var viaCSV: [String: (Int64, Int64)] = [:]
            for line in csv.body.split(separator: "\r\n").dropFirst() {
                let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                viaCSV[cells[1], default: (0, 0)].0 += Int64(cells[2]) ?? 0
                viaCSV[cells[1], default: (0, 0)].1 += Int64(cells[3]) ?? 0
            }
            #expect(viaCSV.mapValues { "\($0.0)/\($0.1)" } == store.mapValues { "\($0.0)/\($0.1)" }, "\(csv.status) \(csv.body)")
            if dimension == .fault {
                #expect(store["caller"].map { "\($0.0)/\($0.1)" } == "52/4")
                #expect(store["provider"].map { "\($0.0)/\($0.1)" } == "52/5")
                #expect(store["network"].map { "\($0.0)/\($0.1)" } == "52/2")
                #expect(store["errwatch"].map { "\($0.0)/\($0.1)" } == "52/1")
            }
        }
    }
}
