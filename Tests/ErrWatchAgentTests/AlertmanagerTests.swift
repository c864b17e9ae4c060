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
    /// A free TCP port on 127.0.0.1: bound to port 0, read back, released.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

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

    /// Polls `condition` every 100 ms until it holds, for at most `seconds`: waiting for another
    /// process to reach a state, not for time to pass.
    static func eventually(within seconds: Int = 30, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Our alert as Alertmanager lists it, if it does.
    static func listed(_ body: String) throws -> [String: Any]? {
        let alerts = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]] ?? []
        return alerts.first { ($0["labels"] as? [String: String])?["alertname"] == "high-error-rate" }
    }

    @Test func alertAppearsInAlertmanagerAndResolvesThere() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("errwatch-am-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configFile = directory.appendingPathComponent("alertmanager.yml")
        try Data("route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n".utf8).write(to: configFile)
        let port = try Self.freePort()
        let process = try Self.launch(try Run.find("prometheus-alertmanager", package: "prometheus-alertmanager"), [
            "--config.file=\(configFile.path)", "--storage.path=\(directory.path)",
            "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=", "--log.level=warn"])
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        #expect(try await Self.eventually { await Self.get(base + "/-/ready", client: client)?.0 == 200 })

        let clock = AlertServiceTests.Clock(Int64(Date().timeIntervalSince1970 * 1_000))
        let notifiers = "  - {name: am, kind: alertmanager, url: \"\(base)\"}"
        try await AlertServiceTests.withService(AlertServiceTests.rules(notify: "am", notifiers: notifiers), clock: clock) {
            (service: AlertService, store: Store) async throws in
            let now = clock.read()
            try AlertServiceTests.record(store, at: now - 1_000, calls: 1000, errors: 100)
            #expect(try await service.evaluate().events.map(\.kind) == [.firing])
            var alert: [String: Any]? = nil
            #expect(try await Self.eventually {
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
            clock.now.withLock { $0 = max($0 + 1, Int64(Date().timeIntervalSince1970 * 1_000)) }
            try AlertServiceTests.record(store, at: clock.read() - 500, calls: 100_000, errors: 0)
            #expect(try await service.evaluate().events.map(\.kind) == [.resolved])
            #expect(try await Self.eventually {
                let body = await Self.get(base + "/api/v2/alerts", client: client)?.1 ?? "[{}]"
                return try Self.listed(body) == nil
            })
        }
        try await client.shutdown()
    }
}
