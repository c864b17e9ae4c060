import AsyncHTTPClient
@testable import ErrWatchCLI
import ErrWatchCore
import ErrWatchTestKit
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The secrets audit: after a run with distinctive API keys in headers, bodies, app names and
/// error messages, no key appears in the database file, the agent's logs, `/metrics` or any
/// export. Runs the built binaries as their own processes.
struct SecretsTests {
    static let marker = "SECRETSECRET"
    static let key = "sk-proj-\(marker)0123456789"

    @Test func noKeyReachesTheDiskTheLogsTheMetricsOrAnExport() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let database = workspace.path("agent.db")
        let mock = try RunningBinary(["mock-upstream", "--listen", "127.0.0.1:0", "--mix", "429=20%,500=10%"])
        defer { mock.terminate() }
        let upstreamPort = try #require(await mock.listeningPort(marker: "mock upstream listening"))
        let agent = try RunningBinary(["agent", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(upstreamPort)/v1", "--db", database])
        let port = try #require(await agent.listeningPort(marker: "errwatch agent listening"))
        // Every line the agent logs from here on.
        let logs = Mutex<[String]>([])
        let reading = Task { for await line in agent.lines { logs.withLock { $0.append(line) } } }

        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        func send(_ path: String, method: NIOHTTP1.HTTPMethod = .POST, headers: [(String, String)], body: String?) async throws -> String {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await client.execute(request, timeout: .seconds(30))
            return String(buffer: try await response.body.collect(upTo: 1 << 20))
        }
        for index in 0..<40 {
            var headers = [("authorization", "Bearer \(Self.key)"), ("x-api-key", Self.key), ("x-errwatch-app", "team:\(Self.key)")]
            if index % 4 == 0 { headers.append(("x-mock-status", "401")) }
            _ = try await send("/v1/chat/completions", headers: headers,
                               body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"my key is \#(Self.key)"}]}"#)
        }
        // Without any key the fake answers 401, as the real API does.
        _ = try await send("/v1/chat/completions", headers: [], body: #"{"model":"\#(Self.key)"}"#)
        let ts = Timestamp.iso8601(Timestamp.now() - 1_000)
        let ingested = try await send("/api/v1/events", headers: [("content-type", "application/json")], body: """
            {"ts":"\(ts)","status":401,"app":"\(Self.key)","model":"m","type":"authentication_error","code":"invalid_api_key","message":"Incorrect API key provided: \(Self.key). Header was Authorization: Bearer \(Self.marker)TOKEN","request_id":"\(Self.key)"}
            """)
        #expect(ingested.contains("\"accepted\":1"))
        let metrics = try await send("/metrics", method: .GET, headers: [], body: nil)
        #expect(metrics.contains("errwatch_calls_total"))
        #expect(!metrics.contains(Self.marker), "a key in /metrics")
        try await client.shutdown()

        agent.terminate()
        #expect(await agent.exitStatus() == 0)
        await reading.value
        let logged = logs.withLock { $0 }
        #expect(!logged.isEmpty)
        #expect(!logged.contains { $0.contains(Self.marker) }, "a key in the logs: \(logged.filter { $0.contains(Self.marker) })")

        for suffix in ["", "-wal", "-shm"] {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: database + suffix))) ?? Data()
            #expect(bytes.range(of: Data(Self.marker.utf8)) == nil, "a key in \(database + suffix)")
        }
        // The masked forms are there: the audit looked at real rows.
        let errors = await errwatch(["errors", "--db", database, "--since", "1h", "--limit", "1000", "--format", "csv"], now: Timestamp.now())
        #expect(errors.stdout.contains("sk-***6789"))
        for report in ["events", "rates", "summary", "alerts"] {
            let export = await errwatch(["export", "--db", database, "--report", report, "--since", "1h", "--by", "app"],
                                        now: Timestamp.now())
            #expect(export.exitCode == 0)
            #expect(!export.stdout.contains(Self.marker), "a key in the \(report) export")
        }
        let html = await errwatch(["report", "--db", database, "--since", "1h", "--format", "html", "--by", "app"], now: Timestamp.now())
        #expect(!html.stdout.contains(Self.marker), "a key in the HTML report")
    }
}
