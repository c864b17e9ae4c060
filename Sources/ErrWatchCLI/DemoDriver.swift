import ArgumentParser
import AsyncHTTPClient
import ErrWatchAgent
import ErrWatchCore
import ErrWatchMock
import ErrWatchReport
import ErrWatchStore
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Sends the demo's traffic and draws the live table; ends the demo when its time is up.
final class DemoDriver: Service, @unchecked Sendable {
    // `agentPort` is written once in run() before anything reads it; everything else is immutable.
    let agent: Agent
    let client: HTTPClient
    let ports: () async -> Int
    let length: Int64
    let clients: Int
    let rate: Double
    let started: Int64
    let context: CommandContext
    private var traffic: DemoTraffic?
    private let interactive = isatty(STDOUT_FILENO) == 1

    init(agent: Agent, client: HTTPClient, ports: @escaping () async -> Int, length: Int64, clients: Int, rate: Double,
         started: Int64, context: CommandContext) {
        self.agent = agent
        self.client = client
        self.ports = ports
        self.length = length
        self.clients = clients
        self.rate = rate
        self.started = started
        self.context = context
    }

    func run() async throws {
        let port = await ports()
        let begin = ContinuousClock.now
        let burst = (begin + .milliseconds(length * 8 / 100))..<(begin + .milliseconds(length / 4))
        let traffic = DemoTraffic(client: client, baseURL: "http://127.0.0.1:\(port)/v1", clients: clients, requestsPerSecond: rate,
                                  burst: (burst, 0.5))
        self.traffic = traffic
        context.print("errwatch demo: fake upstream, agent on http://127.0.0.1:\(port)/v1, \(clients) simulated apps, \(DurationText.format(length)). Ctrl-C stops it.\n"
            + "Dashboard while it runs: http://127.0.0.1:\(port)/\n")
        let deadline = ContinuousClock.now + .milliseconds(length)
        // Ctrl-C (graceful shutdown) stops the apps starting calls and lets the calls under way
        // finish — cutting them would record them as abandoned (499) — and stops the drawing;
        // the summary follows. The agent serves until this returns (it stops after the driver).
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withGracefulShutdownHandler {
                    await traffic.run(until: deadline)
                } onGracefulShutdown: {
                    traffic.stop()
                }
            }
            group.addTask { [self] in await cancelWhenGracefulShutdown { await self.drawUntil(deadline) } }
            await group.waitForAll()
        }
        await agent.writer.flush()
    }

    /// Redraws the table every second (in place on a terminal, every 10 s otherwise).
    private func drawUntil(_ deadline: ContinuousClock.Instant) async {
        var drawnLines = 0
        var tick = 0
        while ContinuousClock.now < deadline, !Task.isCancelled, !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            tick += 1
            guard interactive || tick % 10 == 0 else { continue }
            let table = (try? self.table(now: context.now())) ?? ""
            if interactive, drawnLines > 0 { context.standardOutput("\u{1B}[\(drawnLines)A\u{1B}[J") }
            context.standardOutput(table)
            drawnLines = table.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        }
    }

    /// Calls, errors and error rate by type since the demo started, as recorded.
    func table(now: Int64) throws -> String {
        // Counts are per minute: start at the minute the demo started in.
        let filter = Filter(since: Timestamp.floor(started, to: Timestamp.minute), until: now + 1)
        let overall = try agent.store.rates(filter, by: []).first
        let calls = overall?.calls ?? 0
        let errors = overall?.errors ?? 0
        // Each type's errors over all calls (a type narrows the errors, never the calls).
        let report = Report(columns: ["type", "errors", "error_rate"], rows: try agent.store.rates(filter, by: [.type]).map { row in
            [.text(row.group[0]), .integer(row.errors), .rate(row.errorRate)]
        })
        let tally = traffic?.counts ?? .init()
        let elapsed = DurationText.format((now - started) / 1_000 * 1_000)
        let alerts = try agent.store.alerts().filter { $0.phase == .firing }
            .map { alert in
                let rule = agent.alerts.rules.first { $0.name == alert.rule }
                return "\(alert.rule) FIRING (\(alert.severity.rawValue), \(AlertText.value(alert.value, rule: rule)))"
            }
        return "\(elapsed): \(calls) calls recorded, \(errors) errors (\(Format.percent(calls > 0 ? Double(errors) / Double(calls) : 0))); "
            + "apps retried \(tally.retries) times, \(tally.failed) calls failed after retries\n"
            + report.rendered(.table)
            + "alerts: \(alerts.isEmpty ? "none firing" : alerts.joined(separator: "; "))\n"
    }

    func summary(path: String, now: Int64) throws -> String {
        let tally = traffic?.counts ?? .init()
        let table = (try? table(now: now)) ?? ""
        let statistics = agent.writer.statistics
        let events = try agent.store.alertHistory(since: started - Timestamp.minute, until: now + 1).reversed()
            .filter { [.firing, .severity, .resolved].contains($0.event.kind) }
        let alertLines = events.isEmpty ? "  (no alert fired)\n" : events.map { row in
            "  +\(DurationText.format(max(0, row.event.at - started) / 1_000 * 1_000)) \(row.event.kind.rawValue): "
                + row.event.summary + "\n"
        }.joined()
        let userFailure = tally.calls > 0 ? Format.percent(Double(tally.failed) / Double(tally.calls)) : "-"
        return """

            Done. \(table)
            The apps made \(tally.calls) calls in \(tally.attempts) attempts; after retries \(tally.failed) failed (\(userFailure) of calls).
            The agent recorded \(statistics.written) outcomes and dropped \(statistics.dropped).

            Alerts (notifications in \(path).alerts.jsonl):
            \(alertLines)
            The database is \(path). Explore it:
              errwatch rates --db \(path) --window 1h --by model,type
              errwatch errors --db \(path) --since 1h --type rate_limit_error --limit 10
              errwatch trend --db \(path) --since 10m --bucket 1m
              errwatch alerts history --db \(path)
            In the dashboard: errwatch agent --db \(path), then open http://127.0.0.1:8787/

            """
    }
}
