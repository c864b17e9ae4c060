@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import ErrWatchTestKit
import Testing

/// The metrics' own rules: bounded labels, aggregated records, gauges read at scrape time.
struct AgentMetricsTests {
    func text(_ metrics: AgentMetrics, alerts: [AlertState] = []) -> String {
        String(decoding: metrics.render(writer: BatchWriter.Statistics(), alerts: alerts, rateLimits: []), as: UTF8.self)
    }

    @Test func modelsPastTheCapCountAsOther() {
        let metrics = AgentMetrics()
        for index in 0...AgentMetrics.labelCap {
            metrics.observe(CallOutcome(timestamp: 0, app: "a", endpoint: "chat/completions", model: "model-\(index)", status: 200))
        }
        let exposition = text(metrics)
        #expect(exposition.contains("model=\"model-\(AgentMetrics.labelCap - 1)\""))
        #expect(!exposition.contains("model=\"model-\(AgentMetrics.labelCap)\""))
        #expect(exposition.contains("errwatch_calls_total{app=\"a\",endpoint=\"chat/completions\",model=\"other\",provider=\"\",status_class=\"2xx\"} 1"))
    }

    @Test func anAggregatedRecordCountsAllItsCallsInTheHistogram() {
        let metrics = AgentMetrics()
        metrics.observe(CallOutcome(timestamp: 0, app: "a", endpoint: "e", model: "m", status: 200, latencyMs: 300, count: 1_000_000))
        let exposition = text(metrics)
        #expect(exposition.contains("errwatch_call_duration_seconds_bucket{app=\"a\",endpoint=\"e\",model=\"m\",provider=\"\",le=\"0.25\"} 0"))
        #expect(exposition.contains("errwatch_call_duration_seconds_bucket{app=\"a\",endpoint=\"e\",model=\"m\",provider=\"\",le=\"0.5\"} 1000000"))
        #expect(exposition.contains("errwatch_call_duration_seconds_count{app=\"a\",endpoint=\"e\",model=\"m\",provider=\"\"} 1000000"))
        #expect(exposition.contains("errwatch_calls_total{app=\"a\",endpoint=\"e\",model=\"m\",provider=\"\",status_class=\"2xx\"} 1000000"))
    }

    @Test func alertsFiringFollowTheStateAndDropToZero() {
        let metrics = AgentMetrics()
        let alert = AlertState(rule: "r", group: [], labels: [:], phase: .firing, severity: .critical, value: 1, threshold: 0.5,
                               calls: 10, errors: 10, activeSince: 0, startsAt: 0, endsAt: nil, lastNotifiedAt: 0, updatedAt: 0)
        #expect(text(metrics, alerts: [alert]).contains("errwatch_alerts_firing{rule=\"r\",severity=\"critical\"} 1"))
        var resolved = alert
        resolved.phase = .resolved
        #expect(text(metrics, alerts: [resolved]).contains("errwatch_alerts_firing{rule=\"r\",severity=\"critical\"} 0"))
        metrics.notification(notifier: "ops", result: .delivered)
        #expect(text(metrics).contains("errwatch_notifications_total{notifier=\"ops\",result=\"delivered\"} 1"))
    }

    /// Every family Prometheus's own linter reads: HELP and TYPE for each, the duration a real
    /// histogram (ascending cumulative buckets), label values with quotes and backslashes escaped.
    @Test func everyFamilyPassesPromtoolWithHelpText() async throws {
        let metrics = AgentMetrics()
        let model = #"gpt-"4o"\mini"#
        metrics.observe(CallOutcome(timestamp: 0, app: "a", endpoint: "chat/completions", model: model, status: 200, latencyMs: 700))
        metrics.observe(CallOutcome(timestamp: 0, app: "a", endpoint: "chat/completions", model: model, status: 429,
                                    error: CallError(type: .rateLimit, code: "rate_limit_exceeded", message: "slow down", retryable: true),
                                    latencyMs: 40, count: 3))
        metrics.observe(CallOutcome(timestamp: 0, app: "a", endpoint: "chat/completions", model: model, status: 200, latencyMs: 9_000,
                                    timeToFirstTokenMs: 1_200, chunks: 80, streamed: true))
        metrics.notification(notifier: "ops", result: .delivered)
        metrics.otlpDropped(signal: "logs", count: 2)
        metrics.observe(PruneResult(cuts: [.init(kind: .errors, before: 0, rows: 3, bySize: false)], bytesBefore: 8_192, bytesAfter: 4_096))
        let alert = AlertState(rule: "r", group: [], labels: [:], phase: .firing, severity: .critical, value: 1, threshold: 0.5,
                               calls: 10, errors: 10, activeSince: 0, startsAt: 0, endsAt: nil, lastNotifiedAt: 0, updatedAt: 0)
        let limits = [RateLimitTracker.Snapshot(model: "gpt-4o", observedAt: 0, remainingRequests: 9, remainingTokens: 900)]
        var writer = BatchWriter.Statistics()
        writer.droppedQueueFull = 2
        let exposition = String(decoding: metrics.render(writer: writer, alerts: [alert], rateLimits: limits,
                                                         clients: AgentMetrics.ClientCounts(open: 1, timedOut: 1),
                                                         inflight: [InflightCall(startedAt: 0, app: "a", endpoint: "e", model: model, streaming: true)],
                                                         now: 2_500),
                                as: UTF8.self)

        let (status, said) = try await Run.detached(try Run.find("promtool", package: "prometheus"), ["check", "metrics"], input: Array(exposition.utf8))
        #expect(status == 0 && said.isEmpty, "promtool: \(said)\n\(exposition)")
        let families = Set(AgentMetrics.names.map { name in
            ["_bucket", "_sum", "_count"].reduce(name) { $0.hasSuffix($1) ? String($0.dropLast($1.count)) : $0 }
        })
        for family in families {
            #expect(exposition.contains("# HELP \(family) "), "no HELP for \(family)")
        }
        #expect(exposition.contains("# TYPE errwatch_call_duration_seconds histogram"))
        let labels = #"app="a",endpoint="chat/completions",model="gpt-\"4o\"\\mini",provider="""#
        let buckets = exposition.split(separator: "\n").filter { $0.hasPrefix("errwatch_call_duration_seconds_bucket{\(labels)") }
        #expect(buckets.count == AgentMetrics.durationBounds.count)
        #expect(buckets.first == "errwatch_call_duration_seconds_bucket{\(labels),le=\"0.1\"} 3")
        #expect(buckets.last == "errwatch_call_duration_seconds_bucket{\(labels),le=\"+Inf\"} 5")
        #expect(exposition.contains("errwatch_call_duration_seconds_count{\(labels)} 5"))
        // The stream's first token at 1.2 s: in the 1–1.5 s bucket of its own histogram.
        #expect(exposition.contains("errwatch_time_to_first_token_seconds_bucket{\(labels),le=\"1\"} 0\n"
            + "errwatch_time_to_first_token_seconds_bucket{\(labels),le=\"1.5\"} 1\n"))
        #expect(exposition.contains("errwatch_time_to_first_token_seconds_count{\(labels)} 1"))
    }
}
