import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// errwatch against a real Alertmanager (Debian's `prometheus-alertmanager`, which `.ci/run`
/// installs), started on 127.0.0.1 by the test.
struct AlertmanagerTests {
    /// Starts a daemon with its output discarded; the caller terminates it.
    static func launch(_ program: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// GET `url`'s body, or nil when nothing answers yet.
    static func get(_ url: String, client: HTTPClient) async -> (Int, String)? {
        guard let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5)),
              let body = try? await response.body.collect(upTo: 1 << 20)
        else { return nil }
        return (Int(response.status.code), String(buffer: body))
    }

    /// Our alert as Alertmanager lists it, if it does.
    static func listed(_ body: String) throws -> [String: Any]? {
        let alerts = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]] ?? []
        return alerts.first { ($0["labels"] as? [String: String])?["alertname"] == "high-error-rate" }
    }

    @Test func alertAppearsInAlertmanagerAndResolvesThere() async throws {
        let directoryWorkspace = try Workspace()
        defer { directoryWorkspace.cleanup() }
        let directory = directoryWorkspace.url
        let configFile = directory.appendingPathComponent("alertmanager.yml")
        try Data("route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n".utf8).write(to: configFile)
        let port = try freePort()
        let process = try Self.launch(try Run.find("prometheus-alertmanager", package: "prometheus-alertmanager"), [
            "--config.file=\(configFile.path)", "--storage.path=\(directory.path)",
            "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=", "--log.level=warn"])
        try await Run.stopping(process) {
            try await Self.alertIsListedThenDropped(base: "http://127.0.0.1:\(port)")
        }
    }

    static func alertIsListedThenDropped(base: String) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        #expect(await eventually { await Self.get(base + "/-/ready", client: client)?.0 == 200 })

        let clock = AlertServiceTests.Clock(Timestamp.now())
        let notifiers = "  - {name: am, kind: alertmanager, url: \"\(base)\"}"
        try await AlertServiceTests.withService(AlertServiceTests.rules(notify: "am", notifiers: notifiers), clock: clock) {
            (service: AlertService, store: Store) async throws in
            let now = clock.read()
            try AlertServiceTests.record(store, at: now - 1_000, calls: 1000, errors: 100)
            #expect(try await service.evaluate().events.map(\.kind) == [.firing])
            var alert: [String: Any]? = nil
            #expect(try await eventually {
                alert = try await Self.get(base + "/api/v2/alerts", client: client).flatMap { try Self.listed($0.1) }
                return alert != nil
            })
            let labels = alert?["labels"] as? [String: String]
            #expect(labels == ["alertname": "high-error-rate", "severity": "critical", "model": "gpt-4o", "source": "errwatch"])
            #expect((alert?["status"] as? [String: Any])?["state"] as? String == "active")
            #expect((alert?["annotations"] as? [String: String])?["summary"]?.contains("high-error-rate is critical for model=gpt-4o") == true)
            #expect((alert?["generatorURL"] as? String)?.hasPrefix("http://127.0.0.1:8787/") == true)

            // Calls that succeed bring the rate under the resolve level: errwatch resolves the
            // alert and Alertmanager drops it from its active alerts.
            // Alertmanager takes an end time as a resolution only once it has passed on its own clock.
            clock.now.withLock { $0 = max($0 + 1, Timestamp.now()) }
            try AlertServiceTests.record(store, at: clock.read() - 500, calls: 100_000, errors: 0)
            #expect(try await service.evaluate().events.map(\.kind) == [.resolved])
            #expect(try await eventually {
                let body = await Self.get(base + "/api/v2/alerts", client: client)?.1 ?? "[{}]"
                return try Self.listed(body) == nil
            })
        }
        try await client.shutdown()
    }
}
