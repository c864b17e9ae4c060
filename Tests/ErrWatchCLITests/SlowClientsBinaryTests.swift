import AsyncHTTPClient
import ErrWatchTestKit
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Hundreds of stalled clients against the release binary under a 256-descriptor limit: real
/// calls and `/healthz` are still served, by evicting stalled connections, and the stalled
/// connections are closed.
@Suite(.serialized) struct SlowClientsBinaryTests {
    @Test func threeHundredStalledConnectionsStarveNoOne() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        // A header timeout long enough that no stalled connection times out while the calls are
        // made (even beside the rest of the suite on two cores): the calls must be served by
        // closing stalled connections to make room, not by waiting for them to time out.
        let config = try workspace.write("errwatch.yaml", "header_timeout: 20s\n")
        let (mock, agent, port) = try await DurabilityTests.start(
            database: workspace.path("slow.db"), mix: "429=0%", launcher: [try Run.find("prlimit", package: "util-linux"), "--nofile=256:256"],
            agentArguments: ["--config", config])
        defer { mock.terminate(); agent.terminate() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            // 300 connections that each send half a request head, then nothing.
            let stalled = try (0..<300).map { _ in try RawConnection(port: port) }
            defer { stalled.forEach { $0.close() } }
            for connection in stalled { connection.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le") }

            // Real traffic is served all the while. (Before the cap, the agent could accept no
            // connection at all at its descriptor limit: these timed out.)
            for _ in 0..<20 {
                #expect(try await DurabilityTests.get(client, port: port, "/healthz").0 == 200)
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                request.method = .POST
                request.headers.add(name: "authorization", value: "Bearer sk-test-0123456789abcdef")
                request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o"}"#))
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 1 << 20)
                #expect(response.status == .ok)
            }
            // Served by making room: stalled connections evicted, none timed out yet.
            let (_, served) = try await DurabilityTests.get(client, port: port, "/metrics")
            #expect(Self.closed(served, "evicted") > 0, "no stalled connection was evicted")
            #expect(Self.closed(served, "timeout") == 0, "the calls waited for stalled connections to time out")
            // Every stalled connection is closed: to make room, or by the header timeout.
            #expect(await eventually(within: 40) { stalled.allSatisfy { $0.isClosedByPeer() } },
                    "\(stalled.filter { !$0.isClosedByPeer() }.count) stalled connections still open")
            #expect(agent.process.isRunning)
            let (_, metrics) = try await DurabilityTests.get(client, port: port, "/metrics")
            #expect(Self.closed(metrics, "timeout") > 0)
        } catch {
            Issue.record(error)
        }
        try await client.shutdown()
    }

    /// `errwatch_client_connections_closed_total` for `reason`, from the agent's metrics.
    static func closed(_ metrics: String, _ reason: String) -> Int {
        let prefix = "errwatch_client_connections_closed_total{reason=\"\(reason)\"} "
        return metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }
}
