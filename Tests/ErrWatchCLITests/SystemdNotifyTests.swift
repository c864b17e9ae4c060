import ErrWatchAgent
import ErrWatchCore
import ErrWatchTestKit
import Foundation
import Testing

/// The agent under systemd's protocol, with the test playing systemd: a real Unix datagram
/// socket as `$NOTIFY_SOCKET` and a one-second `$WATCHDOG_USEC`.
@Suite(.serialized) struct SystemdNotifyTests {
    @Test func readyReloadingWatchdogAndStoppingArriveWhenTheyShould() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let socket = try DatagramSocket()
        let config = try workspace.write("errwatch.yaml", "rules:\n  - {name: a, warning: 2%}\n")
        let agent = try RunningBinary(
            ["agent", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9/v1", "--db", workspace.path("a.db"), "--config", config],
            environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "2000000"])
        defer { agent.terminate() }
        let reading = Task { for await _ in agent.lines {} }
        defer { reading.cancel() }

        /// The next message that is not a watchdog ping.
        func nextState() async -> String? {
            while let message = await socket.next(within: .seconds(20)) {
                if message != "WATCHDOG=1" { return message }
            }
            return nil
        }
        // READY comes once the port answers (and the database is open): connect at once.
        let ready = try #require(await nextState())
        #expect(ready.hasPrefix("READY=1\nSTATUS=listening on 127.0.0.1:"), "\(ready)")
        let port = try #require(ready.split(separator: ":").dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) })
        let health = try await RawConnection.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        #expect(health.hasPrefix("HTTP/1.1 200"), "\(health.prefix(200))")

        // WATCHDOG=1 every second (half of WatchdogSec=2s), timed by the kernel's arrival stamps
        // (the test process, beside the suite's load tests on two cores, may read them late).
        // The debug build itself can stall under that load, so the rate is judged by the median
        // gap, which one stall does not move; the unit's WatchdogSec=30s leaves fifteen seconds
        // of margin for such stalls.
        var pings: [Double] = []
        let end = ContinuousClock.now + .seconds(6)
        while case let left = ContinuousClock.now.duration(to: end), left > .zero, let message = await socket.nextStamped(within: left) {
            if message.text == "WATCHDOG=1" { pings.append(message.arrived) }
        }
        // (Their count in the window is not the measure: pings queued before it are read in it.)
        #expect(pings.count >= 3, "\(pings.count) pings in 6 s at a 1 s interval")
        let gaps = zip(pings, pings.dropFirst()).map { $1 - $0 }.sorted()
        let median = gaps.isEmpty ? 0 : gaps[gaps.count / 2]
        #expect(median > 0.7 && median < 1.5, "the median gap between pings is \(median) s: \(gaps)")

        // SIGHUP: RELOADING=1 (with the monotonic time systemd matches it by), then READY=1.
        kill(agent.process.processIdentifier, SIGHUP)
        let reloading = try #require(await nextState())
        #expect(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC="), "\(reloading)")
        #expect(await nextState() == "READY=1")

        // SIGTERM: STOPPING=1 as the graceful stop begins, and a clean exit.
        agent.terminate()
        #expect(await nextState() == "STOPPING=1")
        #expect(await agent.exitStatus() == 0)
    }
}

/// `deploy/errwatch.service`, checked by systemd's own tools.
struct SystemdUnitTests {
    static let unit = ReleaseBinary.packageRoot.appendingPathComponent("deploy/errwatch.service")

    /// The unit with ExecStart pointing at the built binary (verify checks that it exists).
    func installedCopy(_ workspace: Workspace) throws -> String {
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/errwatch", with: StandaloneBinaryTests.builtBinary.path)
        return try workspace.write("errwatch.service", text)
    }

    @Test func systemdAnalyzeVerifiesTheUnit() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let (status, said) = try await Run.detached(try Run.find("systemd-analyze", package: "systemd"), ["verify", try installedCopy(workspace)])
        #expect(status == 0 && said.isEmpty, "\(said)")
    }

    /// Hardened as systemd measures it (its exposure score, 0 to 10, lower is better).
    @Test func theUnitIsHardened() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let (status, said) = try await Run.detached(try Run.find("systemd-analyze", package: "systemd"),
                                             ["security", "--offline=yes", "--no-pager", try installedCopy(workspace)])
        #expect(status == 0, "\(said)")
        let line = try #require(said.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(line.split(separator: " ").compactMap { Double($0) }.first)
        #expect(score <= 2.0, "\(line)")
    }

    /// What the unit promises: notify with a watchdog, a stop longer than shutdown_grace, a
    /// reload by SIGHUP, secrets not on the command line.
    @Test func theUnitKeepsItsPromises() throws {
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
        let settings = Dictionary(text.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("=") }.map { line in
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), String(parts[1]))
        }, uniquingKeysWith: { first, _ in first })
        #expect(settings["Type"] == "notify")
        #expect(settings["ExecReload"] == "/bin/kill -HUP $MAINPID")
        #expect(settings["WatchdogSec"] != nil && settings["Restart"] == "on-failure")
        let stop = try #require(settings["TimeoutStopSec"].flatMap { DurationText.milliseconds($0) })
        #expect(stop > AgentConfiguration().shutdownGraceMs)
        let start = try #require(settings["ExecStart"])
        #expect(!start.contains("token") && !start.contains("http"), "a secret on the command line: \(start)")
    }
}

/// The container recipes in `deploy/` cannot be run here (no container engine), so every
/// setting they use is checked to exist, and their stop grace to cover the agent's.
struct DeployRecipesTests {
    static let folder = ReleaseBinary.packageRoot.appendingPathComponent("deploy")

    @Test(arguments: ["compose.yaml", "kubernetes.yaml", "Dockerfile", "errwatch.service"])
    func everyVariableIsASetting(file: String) throws {
        let text = try String(contentsOf: Self.folder.appendingPathComponent(file), encoding: .utf8)
        let known = Set(AgentConfiguration.keys.map(\.environment))
        let used = text.matches(of: /ERRWATCH_[A-Z_]+/).map { String($0.output) }
        #expect(!used.isEmpty)
        for name in used { #expect(known.contains(name), "\(file): \(name) is not a setting") }
    }

    /// The platform waits longer than the agent's own grace, so a stop is never cut short.
    @Test func stopGraceCoversShutdownGrace() throws {
        for (file, platform) in [("compose.yaml", /stop_grace_period: (\d+)s/), ("kubernetes.yaml", /terminationGracePeriodSeconds: (\d+)/)] {
            let text = try String(contentsOf: Self.folder.appendingPathComponent(file), encoding: .utf8)
            let waits = try #require(text.firstMatch(of: platform).flatMap { Int64($0.output.1) })
            let grace = try #require(text.firstMatch(of: /ERRWATCH_SHUTDOWN_GRACE:?,? (?:value: )?"?(\d+)s/).flatMap { Int64($0.output.1) })
            #expect(waits > grace, "\(file): the platform waits \(waits) s, the agent's grace is \(grace) s")
        }
    }
}
