import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// `/metrics` scraped by a real Prometheus (Debian's `prometheus`, which `.ci/run` installs),
/// started by the test on 127.0.0.1: PromQL's error ratio agrees with `errwatch rates`.
struct PrometheusTests {
    /// The value of an instant PromQL query's single result, or nil.
    static func query(_ promQL: String, base: String, client: HTTPClient) async -> Double? {
        var components = URLComponents(string: base + "/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: promQL)]
        guard let (status, body) = await AlertmanagerTests.get(components.url!.absoluteString, client: client), status == 200,
              let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let data = json["data"] as? [String: Any], let results = data["result"] as? [[String: Any]],
              let value = results.first?["value"] as? [Any], let text = value.last as? String
        else { return nil }
        return Double(text)
    }

    /// Sends `count` chat completions through the agent, answered with `status`.
    static func send(_ count: Int, status: Int, harness: Harness) async throws {
        for _ in 0..<count {
            _ = try await harness.send("/v1/chat/completions", headers: [("authorization", "Bearer sk-test-abcdefghijklmnop1234"),
                                                                         ("x-mock-status", String(status))],
                                       body: #"{"model":"gpt-4o","messages":[]}"#)
        }
    }

    @Test func promQLErrorRatioAgreesWithErrwatchRates() async throws {
        try await Harness.with { harness in
            // The same mix before Prometheus starts and after: every series exists before the
            // measured traffic, and each grows in proportion, so rate() extrapolates all alike.
            try await Self.send(7, status: 200, harness: harness)
            try await Self.send(2, status: 429, harness: harness)
            try await Self.send(1, status: 500, harness: harness)

            let directoryWorkspace = try Workspace()
            defer { directoryWorkspace.cleanup() }
            let directory = directoryWorkspace.url
            let agentHost = String(harness.agentURL.dropFirst("http://".count))
            let config = directory.appendingPathComponent("prometheus.yml")
            try Data("""
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: errwatch
                    static_configs:
                      - targets: ["\(agentHost)"]

                """.utf8).write(to: config)
            let port = try freePort()
            let process = try AlertmanagerTests.launch(try Run.find("prometheus", package: "prometheus"), [
                "--config.file=\(config.path)", "--storage.tsdb.path=\(directory.path)/data",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn"])
            let base = "http://127.0.0.1:\(port)"
            try await Run.stopping(process) {
                let client = harness.client
                #expect(await eventually {
                    await Self.query("sum(errwatch_calls_total)", base: base, client: client) == 10
                })

                try await Self.send(70, status: 200, harness: harness)
                try await Self.send(20, status: 429, harness: harness)
                try await Self.send(10, status: 500, harness: harness)
                #expect(await eventually {
                    let total = await Self.query("sum(errwatch_calls_total)", base: base, client: client)
                    // At least one more scrape after the traffic, so the window's last sample is settled.
                    let samples = await Self.query("count_over_time(errwatch_calls_total{status_class=\"2xx\"}[1m])", base: base, client: client)
                    return total == 110 && (samples ?? 0) >= 3
                })
                let promRatio = await Self.query(
                    "sum(rate(errwatch_errors_total[1m])) / sum(rate(errwatch_calls_total[1m]))", base: base, client: client)

                let rates = try await harness.send("/api/v1/rates?window=10m", method: .GET)
                let rows = try JSONSerialization.jsonObject(with: Data(rates.body.utf8)) as? [[String: Any]]
                let ours = try #require(rows?.first?["error_rate"] as? Double)
                #expect(rows?.first?["calls"] as? Int == 110)
                #expect(rows?.first?["errors"] as? Int == 33)
                let theirs = try #require(promRatio)
                #expect(abs(theirs - ours) < 0.005, "PromQL says \(theirs), errwatch rates says \(ours)")

                // The other series the issue names are there too.
                let metrics = try await harness.send("/metrics", method: .GET)
                for name in ["errwatch_errors_total{app=\"default\",endpoint=\"chat/completions\",model=\"gpt-4o\",provider=\"127.0.0.1\",type=\"rate_limit_error\",code=\"rate_limit_exceeded\",status=\"429\"} 22",
                             "errwatch_call_duration_seconds_count{app=\"default\",endpoint=\"chat/completions\",model=\"gpt-4o\",provider=\"127.0.0.1\"} 110",
                             "errwatch_writer_dropped_total 0", "errwatch_writer_queue_depth", "errwatch_ratelimit_remaining{model=\"gpt-4o\",limit=\"requests\"}"] {
                    #expect(metrics.body.contains(name), "missing \(name)")
                }
            }
        }
    }
}
