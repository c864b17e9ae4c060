import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The alerting API of a live agent: proxied traffic sets off a rule, the aggregator fires it,
/// `/api/v1/alerts` and `/api/v1/alerts/history` say so.
struct AlertsAPITests {
    static let rules = """
        rules:
          - {name: proxy-429s, where: {type: rate_limit_error}, group_by: [model], warning: 10%, min_calls: 10}
        """

    @Test func proxiedFailuresFireARuleTheAPIReports() async throws {
        try await Harness.with(configure: { configuration in
            try? configuration.apply(yaml: Self.rules, path: "test.yaml")
        }) { harness in
            for index in 0..<20 {
                let headers = [("authorization", "Bearer sk-test-abcdefghijklmnop1234")] + (index % 2 == 0 ? [("x-mock-status", "429")] : [])
                _ = try await harness.send("/v1/chat/completions", headers: headers, body: #"{"model":"gpt-4o","messages":[]}"#)
            }
            await harness.agent.writer.flush()
            let result = try await harness.agent.alerts.evaluate()
            #expect(result.events.map(\.kind) == [.firing])

            let list = try await harness.send("/api/v1/alerts?state=firing", method: .GET)
            #expect(list.status == 200)
            let alerts = try JSONSerialization.jsonObject(with: Data(list.body.utf8)) as? [[String: Any]]
            #expect(alerts?.count == 1)
            #expect(alerts?.first?["rule"] as? String == "proxy-429s")
            #expect(alerts?.first?["labels"] as? [String: String] == ["model": "gpt-4o"])
            #expect(alerts?.first?["calls"] as? Int == 20)
            #expect(alerts?.first?["errors"] as? Int == 10)

            let history = try await harness.send("/api/v1/alerts/history?since=1h&rule=proxy-429s", method: .GET)
            #expect(history.status == 200)
            #expect(history.body.contains("\"event\": \"firing\""))
            #expect(history.body.contains("proxy-429s is warning for model=gpt-4o: error rate 50.0% against 10.0% (10 of 20 calls in 5m)."))

            let bad = try await harness.send("/api/v1/alerts?state=burning", method: .GET)
            #expect(bad.status == 400)
            #expect(bad.body == #"{"error":{"code":"invalid_parameter","message":"Invalid state 'burning'; give pending, firing, resolved or active.","type":"invalid_request_error"}}"#)
            let unknown = try await harness.send("/api/v1/alerts/history?rules=x", method: .GET)
            #expect(unknown.status == 400 && unknown.body.contains("unknown_parameter"))
        }
    }
}
