import AsyncHTTPClient
import ErrWatchTestKit
import Foundation
import Testing

/// README's local loop, with the real OpenAI Python SDK as the app: the fake upstream and the
/// agent as the release binary runs them, the SDK pointed at the agent by `OPENAI_BASE_URL`.
/// Its answer comes through, and its calls — retries included, numbered by the SDK's own
/// `x-stainless-retry-count` — are recorded.
@Suite(.serialized) struct OpenAISDKTests {
    @Test func theOpenAIPythonSDKWorksThroughTheAgentAndIsRecorded() async throws {
        // The python3 on PATH: the one `pip install openai` (and .ci/run) installed into.
        let python = try Run.find("python3", package: "python3")
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let database = workspace.path("sdk.db")
        // 429 on a quarter of calls: the SDK retries them by itself (max_retries=2).
        let (mock, agent, port) = try await DurabilityTests.start(database: database, mix: "429=25%")
        defer { mock.terminate(); agent.terminate() }
        let script = """
            import sys
            try:
                from openai import OpenAI
            except ImportError:
                sys.exit("the openai package is missing: pip install openai (bash .ci/run installs it)")
            client = OpenAI(base_url="http://127.0.0.1:\(port)/v1", api_key="sk-local-0123456789abcdef", max_retries=2)
            answers = 0
            for n in range(20):
                try:
                    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hello %d" % n}])
                    if reply.choices[0].message.content: answers += 1
                except Exception as error:
                    print("call failed:", type(error).__name__)
            print("answers", answers)
            """
        let (status, text) = try await Run.detached(python, ["-c", script],
                                             environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": NSTemporaryDirectory()])
        #expect(status == 0, "\(text)")
        let answers = text.split(separator: "\n").first { $0.hasPrefix("answers ") }.flatMap { Int($0.dropFirst(8)) } ?? -1
        #expect(answers >= 15, "\(text)")
        // Every attempt the SDK made is recorded once: each answered call one success, and
        // each 429 it saw (and retried) one error.
        #expect(await eventually { ((try? DurabilityTests.recorded(database).calls) ?? 0) >= 20 })
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let (_, body) = try await DurabilityTests.get(client, port: port, "/api/v1/rates?window=1h")
        try await client.shutdown()
        let row = try #require((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]])?.first)
        let calls = row["calls"] as? Int ?? -1, errors = row["errors"] as? Int ?? -1
        #expect(calls == answers + errors, "\(body)")
        #expect(errors > 0 && calls > 20, "the SDK retried its 429s and every attempt was recorded: \(body)")
    }
}
