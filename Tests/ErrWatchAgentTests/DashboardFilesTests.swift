@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

/// `dashboards/`: the Grafana dashboard parses and every PromQL in it, and in the rules file,
/// names only metrics errwatch exports; `promtool` (from Debian's `prometheus`) loads the rules.
struct DashboardFilesTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("dashboards")

    /// The `errwatch_…` names in a PromQL expression (recording rules' `errwatch:…` excluded).
    static func metricNames(in expression: String) -> Set<String> {
        var names = Set<String>()
        var rest = Substring(expression)
        while let range = rest.range(of: "errwatch_") {
            let start = range.lowerBound
            if start > rest.startIndex, let before = rest[rest.index(before: start)...].first, before.isLetter || before == ":" || before == "_" {
                rest = rest[range.upperBound...]
                continue
            }
            let name = rest[start...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            names.insert(String(name))
            rest = rest[range.upperBound...]
        }
        return names
    }

    @Test func everyNameInTheListIsReallyExported() {
        let metrics = AgentMetrics()
        metrics.observe(CallOutcome(timestamp: 0, app: "a", endpoint: "e", model: "m", status: 429,
                                    error: CallError(type: .rateLimit, message: "x", retryable: true), latencyMs: 10))
        metrics.observe(CallOutcome(timestamp: 0, app: "a", endpoint: "e", model: "m", status: 200, latencyMs: 900,
                                    timeToFirstTokenMs: 300, chunks: 9, streamed: true))
        metrics.otlpDropped(signal: "logs", count: 1)
        metrics.notification(notifier: "n", result: .delivered)
        metrics.observe(PruneResult(cuts: [.init(kind: .errors, before: 0, rows: 3, bySize: false)], bytesBefore: 8_192, bytesAfter: 4_096))
        let alert = AlertState(rule: "r", group: [], labels: [:], phase: .firing, severity: .warning, value: 1, threshold: 0,
                               calls: 1, errors: 1, activeSince: 0, startsAt: 0, endsAt: nil, lastNotifiedAt: 0, updatedAt: 0)
        let text = String(decoding: metrics.render(
            writer: BatchWriter.Statistics(), alerts: [alert],
            rateLimits: [RateLimitTracker.Snapshot(model: "m", observedAt: 0, remainingRequests: 5, remainingTokens: nil,
                                                   resetRequestsMs: nil, resetTokensMs: nil)],
            inflight: [InflightCall(startedAt: 0, app: "a", endpoint: "e", model: "m", streaming: false)], now: 1_000), as: UTF8.self)
        let exported = Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0.prefix { $0 != "{" && $0 != " " }) })
        #expect(exported == Set(AgentMetrics.names))
    }

    @Test func grafanaDashboardParsesAndUsesOnlyExportedMetrics() throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("errwatch-grafana.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        #expect(panels.count >= 6)
        var expressions: [String] = []
        for panel in panels {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                expressions.append(try #require(target["expr"] as? String))
            }
        }
        let templating = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        #expect(Set(templating.compactMap { $0["name"] as? String }).isSuperset(of: ["app", "model"]))
        for variable in templating {
            if let query = (variable["query"] as? [String: Any])?["query"] as? String { expressions.append(query) }
        }
        for expression in expressions {
            let names = Self.metricNames(in: expression)
            #expect(!names.isEmpty, "no errwatch metric in \(expression)")
            #expect(names.isSubset(of: Set(AgentMetrics.names)), "unknown metric in \(expression)")
        }
        // Panels for what the issue lists: error rate by type, calls, latency, headroom, alerts.
        let all = expressions.joined(separator: "\n")
        for needed in ["by (type)", "errwatch_calls_total", "histogram_quantile", "errwatch_ratelimit_remaining", "errwatch_alerts_firing"] {
            #expect(all.contains(needed))
        }
    }

    @Test func prometheusRulesLoadAndUseOnlyExportedMetrics() async throws {
        let rules = Self.folder.appendingPathComponent("prometheus-rules.yml")
        let text = try String(contentsOf: rules, encoding: .utf8)
        let names = Self.metricNames(in: text)
        #expect(names.isSubset(of: Set(AgentMetrics.names)), "unknown metric in the rules: \(names.subtracting(AgentMetrics.names))")
        let (status, said) = try await Run.detached(try Run.find("promtool", package: "prometheus"), ["check", "rules", rules.path])
        #expect(status == 0, "\(said)")
        #expect(said.contains("SUCCESS"))
    }
}
