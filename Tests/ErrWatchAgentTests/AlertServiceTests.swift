import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Logging
import Synchronization
import Testing

/// The aggregator with a real temp database, real receivers on 127.0.0.1 and an injected clock.
struct AlertServiceTests {
    static let start: Int64 = 1_795_651_200_000

    /// A clock the test moves by hand.
    final class Clock: Sendable {
        let now: Mutex<Int64>
        init(_ start: Int64) { now = Mutex(start) }
        func advance(_ milliseconds: Int64) { now.withLock { $0 += milliseconds } }
        var read: @Sendable () -> Int64 { { self.now.withLock { $0 } } }
    }

    /// A store, an alert service over it configured by `yaml`, with its dispatcher running.
    static func withService(
        _ yaml: String, clock: Clock, path: String? = nil,
        _ body: (AlertService, Store) async throws -> Void
    ) async throws {
        var configuration = AgentConfiguration()
        try configuration.apply(yaml: yaml, path: "test.yaml")
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let store = try Store.open(path: path ?? workspace.path("alerts.db"))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let dispatcher = NotifierDispatcher(notifiers: configuration.alerts.notifiers, client: client, store: store,
                                            evaluationIntervalMs: configuration.alerts.evaluationIntervalMs, logger: logger, now: clock.read)
        let service = AlertService(configuration: configuration.alerts, store: store, dispatcher: dispatcher,
                                   dashboardURL: "http://127.0.0.1:8787", logger: logger, now: clock.read)
        let delivering = Task { await dispatcher.run() }
        do {
            try await body(service, store)
        } catch {
            delivering.cancel()
            try? await client.shutdown()
            throw error
        }
        dispatcher.finish()
        delivering.cancel()
        await delivering.value
        try await client.shutdown()
    }

    /// `calls` calls of gpt-4o at `at`, `errors` of them rate-limited.
    static func record(_ store: Store, at: Int64, calls: Int, errors: Int) throws {
        var outcomes = [CallOutcome(timestamp: at, app: "shop", endpoint: "/v1/chat/completions", model: "gpt-4o", status: 200,
                                    count: calls - errors)]
        if errors > 0 {
            outcomes.append(CallOutcome(
                timestamp: at, app: "shop", endpoint: "/v1/chat/completions", model: "gpt-4o", status: 429,
                error: CallError(type: .rateLimit, code: "rate_limit_exceeded", message: "Too many requests", retryable: true), count: errors))
        }
        _ = try store.record(outcomes)
    }

    static func rules(notify: String, notifiers: String) -> String {
        """
        evaluation_interval: 15s
        notifiers:
        \(notifiers)
        rules:
          - name: high-error-rate
            kind: threshold
            where: {type: rate_limit_error}
            group_by: [model]
            window: 5m
            warning: 2%
            critical: 5%
            resolve: 1%
            min_calls: 20
            notify: [\(notify)]
        """
    }

    /// Waits for the next body a receiver gets.
    /// The next body the receiver gets, or nil when none comes within ten seconds.
    static func next(_ receiver: Receiver) async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                var iterator = receiver.bodies.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    @Test func deliversAfterTwoFailuresWithEveryAttemptRecorded() async throws {
        let receiver = Receiver(statuses: [503, 503, 200])
        try await receiver.serve { url in
            let clock = Clock(Self.start)
            let notifiers = "  - {name: ops, kind: webhook, url: \"\(url)/hook\", backoff: 10ms}"
            try await Self.withService(Self.rules(notify: "ops", notifiers: notifiers), clock: clock) { (service: AlertService, store: Store) async throws in
                try Self.record(store, at: Self.start - 60_000, calls: 1000, errors: 100)
                let result = try await service.evaluate()
                #expect(result.events.map(\.kind) == [.firing])
                var bodies: [String] = []
                while bodies.count < 3, let body = await Self.next(receiver) { bodies.append(body) }
                // The same event three times; the receiver took the third.
                try #require(bodies.count == 3)
                #expect(Set(bodies).count == 1)
                let payload = try JSONSerialization.jsonObject(with: Data(bodies[0].utf8)) as? [String: Any]
                #expect(payload?["status"] as? String == "firing")
                #expect(payload?["rule"] as? String == "high-error-rate")
                #expect(payload?["severity"] as? String == "critical")
                #expect(payload?["labels"] as? [String: String] == ["model": "gpt-4o"])
                #expect(payload?["value"] as? Double == 0.1)
                #expect(payload?["threshold"] as? Double == 0.05)
                #expect(payload?["window"] as? String == "5m")
                #expect(payload?["calls"] as? Int == 1000)
                #expect(payload?["errors"] as? Int == 100)
                #expect(payload?["starts_at"] as? String == Timestamp.iso8601(Self.start))
                #expect(payload?["ends_at"] is NSNull)
                #expect((payload?["summary"] as? String)?.contains("high-error-rate is critical for model=gpt-4o") == true)
                #expect((payload?["dashboard_url"] as? String)?.hasPrefix("http://127.0.0.1:8787/") == true)
                // The attempts are recorded once written: wait for the third record, not for time.
                var attempts: [NotificationAttempt] = []
                while attempts.count < 3 {
                    attempts = try store.notifications(since: 0, until: .max)
                    if attempts.count < 3 { await Task.yield() }
                }
                #expect(attempts.map(\.attempt) == [1, 2, 3])
                #expect(attempts.map(\.result) == [.retrying, .retrying, .delivered])
                #expect(attempts.map(\.status) == [503, 503, 200])
                #expect(Set(attempts.map(\.eventID)).count == 1)
            }
        }
    }

    @Test func doesNotRetryAClientError() async throws {
        let receiver = Receiver(statuses: [400, 200])
        try await receiver.serve { url in
            let clock = Clock(Self.start)
            let notifiers = "  - {name: ops, kind: webhook, url: \"\(url)/hook\", backoff: 10ms}"
            try await Self.withService(Self.rules(notify: "ops", notifiers: notifiers), clock: clock) { (service: AlertService, store: Store) async throws in
                try Self.record(store, at: Self.start - 60_000, calls: 1000, errors: 100)
                try await service.evaluate()
                _ = await Self.next(receiver)
                var attempts: [NotificationAttempt] = []
                while attempts.isEmpty {
                    attempts = try store.notifications(since: 0, until: .max)
                    await Task.yield()
                }
                #expect(attempts.map(\.result) == [.failed])
                #expect(attempts.first?.status == 400)
            }
        }
    }

    @Test func aReceiverThatNeverAnswersDoesNotDelayAnother() async throws {
        let dead = Receiver(hang: true)
        let alive = Receiver()
        try await dead.serve { deadURL in
            try await alive.serve { aliveURL in
                let clock = Clock(Self.start)
                let notifiers = """
                      - {name: dead, kind: webhook, url: "\(deadURL)/hook", timeout: 60s}
                      - {name: alive, kind: webhook, url: "\(aliveURL)/hook"}
                    """
                try await Self.withService(Self.rules(notify: "dead, alive", notifiers: notifiers), clock: clock) { (service: AlertService, store: Store) async throws in
                    try Self.record(store, at: Self.start - 60_000, calls: 1000, errors: 100)
                    let started = ContinuousClock.now
                    try await service.evaluate()
                    _ = await Self.next(dead)
                    let body = await Self.next(alive)
                    #expect(body?.contains("\"status\":\"firing\"") == true)
                    // The dead receiver holds its request for up to 60 s; the other got its alert meanwhile.
                    #expect(ContinuousClock.now - started < .seconds(30))
                }
            }
        }
    }

    @Test func restartNeitherRepeatsNorForgets() async throws {
        let receiver = Receiver()
        try await receiver.serve { url in
            let directoryWorkspace = try Workspace()
            defer { directoryWorkspace.cleanup() }
            let directory = directoryWorkspace.url
            let path = directory.appendingPathComponent("alerts.db").path
            let clock = Clock(Self.start)
            let yaml = Self.rules(notify: "ops", notifiers: "  - {name: ops, kind: webhook, url: \"\(url)/hook\"}")
            try await Self.withService(yaml, clock: clock, path: path) { (service: AlertService, store: Store) async throws in
                try Self.record(store, at: Self.start - 60_000, calls: 1000, errors: 100)
                #expect(try await service.evaluate().events.map(\.kind) == [.firing])
                #expect(await Self.next(receiver)?.contains("\"firing\"") == true)
            }
            // A new process over the same file: still firing, nothing sent again.
            clock.advance(15_000)
            try await Self.withService(yaml, clock: clock, path: path) { (service: AlertService, store: Store) async throws in
                #expect(try await service.evaluate().events.isEmpty)
                #expect(try store.alerts().first?.phase == .firing)
                // Five minutes on, the window is empty: no data is not health; the alert stays.
                clock.advance(5 * 60_000)
                #expect(try await service.evaluate().events.isEmpty)
                #expect(try store.alerts().first?.phase == .firing)
                // Clean calls in the window: the alert resolves, once.
                try Self.record(store, at: Self.start + 4 * 60_000, calls: 1000, errors: 0)
                #expect(try await service.evaluate().events.map(\.kind) == [.resolved])
                let resolved = await Self.next(receiver)
                #expect(resolved?.contains("\"status\":\"resolved\"") == true)
                #expect(resolved?.contains("\"ends_at\":\"\(Timestamp.iso8601(Self.start + 315_000))\"") == true)
                #expect(try store.alertHistory(since: 0, until: .max).map(\.event.kind) == [.resolved, .firing])
            }
        }
    }

    @Test func commandAndLogNotifiersGetTheAlert() async throws {
        let directoryWorkspace = try Workspace()
        defer { directoryWorkspace.cleanup() }
        let directory = directoryWorkspace.url
        let output = directory.appendingPathComponent("command.out").path
        let log = directory.appendingPathComponent("alerts.log").path
        let notifiers = """
              - name: script
                kind: command
                command: [/bin/sh, -c, "cat > \(output).tmp; echo \\"$ERRWATCH_ALERT_STATUS $ERRWATCH_ALERT_SEVERITY $ERRWATCH_ALERT_LABEL_MODEL\\" >> \(output).tmp; mv \(output).tmp \(output)"]
              - {name: file, kind: log, path: "\(log)"}
            """
        let clock = Clock(Self.start)
        try await Self.withService(Self.rules(notify: "script, file", notifiers: notifiers), clock: clock) { (service: AlertService, store: Store) async throws in
            try Self.record(store, at: Self.start - 60_000, calls: 1000, errors: 100)
            try await service.evaluate()
            var attempts: [NotificationAttempt] = []
            while attempts.count < 2 {
                attempts = try store.notifications(since: 0, until: .max)
                await Task.yield()
            }
            #expect(attempts.allSatisfy { $0.result == .delivered })
        }
        let text = try String(contentsOfFile: output, encoding: .utf8)
        #expect(text.contains("\"rule\":\"high-error-rate\""))
        #expect(text.hasSuffix("firing critical gpt-4o\n"))
        let line = try String(contentsOfFile: log, encoding: .utf8)
        #expect(line.split(separator: "\n").count == 1)
        #expect(line.contains("\"status\":\"firing\""))
    }
}
