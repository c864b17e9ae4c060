// An app that calls an OpenAI-compatible API through ErrWatchClient and reports every attempt
// to a running errwatch agent. Built with the package (`swift build`), so it always compiles.
// As it stands it talks to errwatch's local fake through the agent (README: "A local loop");
// set OPENAI_BASE_URL and OPENAI_API_KEY to call a real provider.
import ErrWatchClient
import Foundation

let environment = ProcessInfo.processInfo.environment
let baseURL = environment["OPENAI_BASE_URL"] ?? "http://127.0.0.1:8787/v1"  // the agent, in front of the fake
let apiKey = environment["OPENAI_API_KEY"] ?? "sk-local-fake-key-0000"     // the fake takes any key

var policy = RetryPolicy()
policy.fallbackModels = ["gpt-4o-mini", "claude-sonnet-4"]  // after a 502/503 or exhausted retries
policy.deadline = .seconds(90)                              // for a whole call, retries included

let recorder = AgentRecorder(agentURL: "http://127.0.0.1:8787")  // errwatch agent's ingest API
let client = ErrWatchClient(baseURL: baseURL, apiKey: apiKey, policy: policy, recorder: recorder, app: "example-app")

await withTaskGroup(of: Void.self) { group in
    group.addTask { await recorder.run() }  // sends outcomes in the background, in batches

    do {
        let reply = try await client.chatCompletions(json: """
            {"model": "gpt-4o", "messages": [{"role": "user", "content": "Say hello."}]}
            """)
        print("\(reply.model) answered after \(reply.attempts) attempt(s): \(reply.answer ?? reply.text)")

        for try await chunk in client.streamChatCompletions(json: """
            {"model": "gpt-4o", "messages": [{"role": "user", "content": "Count to five."}]}
            """) {
            print(chunk.choices.first?.delta.content ?? "", terminator: "")
        }
        print()
    } catch let error as APIError {
        // Typed: status, type, code, message, retryable, request id, retry delay, attempts.
        print("The call failed: \(error)")
    } catch {
        print("The call failed: \(error)")
    }

    try? await recorder.shutdown()  // sends what is left
    try? await client.shutdown()
    group.cancelAll()
}
