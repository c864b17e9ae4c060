import AsyncHTTPClient
@testable import ErrWatchAgent
@testable import ErrWatchClient
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

@Suite struct RecorderTests {
    @Test func outcomesArriveAtARunningAgent() async throws {
        try await withUpstream { upstream in
            let directoryWorkspace = try Workspace()
            defer { directoryWorkspace.cleanup() }
            let directory = directoryWorkspace.url
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            var configuration = AgentConfiguration()
            configuration.port = 0
            let store = try Store.open(path: directory.appendingPathComponent("agent.db").path)
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let agent = Agent(configuration: configuration, store: store, client: http, logger: logger)
            let (ports, port) = AsyncStream.makeStream(of: Int.self)
            let group = ServiceGroup(services: agent.services { port.yield($0) }, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var iterator = ports.makeAsyncIterator()
                let agentPort = await iterator.next()!

                let recorder = AgentRecorder(agentURL: "http://127.0.0.1:\(agentPort)", flushInterval: .milliseconds(50))
                let client = ErrWatchClient(baseURL: upstream, apiKey: "sk-test-0123456789abcdef", recorder: recorder, app: "swift-app")
                let completion = try await client.chatCompletions(json: chatBody).chatCompletion()
                #expect(completion.model == "gpt-4o" && completion.choices.first?.message.content == "Hello from the errwatch mock upstream.")
                #expect(completion.usage?.totalTokens == 21)
                let vectors = try await client.embeddings(json: #"{"model":"text-embedding-3-small","input":"x"}"#).embeddings()
                #expect(vectors.data.first?.embedding.count == 4)
                _ = try? await client.send(path: "/chat/completions", json: Array(chatBody.utf8), headers: [("x-mock-status", "404")])
                try await recorder.shutdown()
                #expect(recorder.statistics == AgentRecorder.Statistics(sent: 3, dropped: 0, queued: 0))

                await agent.writer.flush()
                let rows = try store.rates(Filter(since: 0, until: Int64.max / 2), by: [.app, .endpoint, .model])
                #expect(rows.map { $0.group.joined(separator: "|") }.sorted() == [
                    "swift-app|chat/completions|gpt-4o", "swift-app|embeddings|text-embedding-3-small",
                ])
                #expect(rows.reduce(0) { $0 + $1.calls } == 3 && rows.reduce(0) { $0 + $1.errors } == 1)
                let error = try #require(try store.errors(Filter(since: 0, until: Int64.max / 2), limit: 10).events.first)
                #expect(error.error.type == .notFound && error.outcome.timeToHeadersMs != nil)
                #expect(error.outcome.finalAttempt == true, "a 404 is not retried: its one attempt is the last")
                try await client.shutdown()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            try await http.shutdown()
        }
    }

    @Test func withTheAgentDownCallsAreUnaffectedAndDropsAreCounted() async throws {
        try await withUpstream { upstream in
            // Nothing listens on the agent's port.
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
            let deadPort = channel.localAddress?.port ?? 0
            try await channel.close()
            let recorder = AgentRecorder(agentURL: "http://127.0.0.1:\(deadPort)", capacity: 5, flushInterval: .seconds(3_600))
            let client = ErrWatchClient(baseURL: upstream, apiKey: "sk-test-0123456789abcdef", recorder: recorder)
            for _ in 0..<8 {
                let reply = try await client.chatCompletions(json: chatBody)
                #expect(reply.status == 200)
            }
            // A buffer of five: three dropped on arrival, five when the send to the dead agent failed.
            #expect(recorder.statistics.dropped == 3)
            try await recorder.shutdown()
            #expect(recorder.statistics == AgentRecorder.Statistics(sent: 0, dropped: 8, queued: 0))
            try await client.shutdown()
        }
    }

    @Test func theStoreRecorderWritesThroughTheBatchWriter() async throws {
        try await withUpstream { upstream in
            let store = try Store.inMemory()
            let writer = BatchWriter(store: store)
            async let running: Void = writer.run()
            let client = ErrWatchClient(baseURL: upstream, apiKey: "sk-test-0123456789abcdef", recorder: writer)
            _ = try await client.chatCompletions(json: chatBody)
            await writer.shutdown()
            await running
            #expect(try store.rates(Filter(since: 0, until: Int64.max / 2), by: [])[0].calls == 1)
            try await client.shutdown()
        }
    }

    @Test func encodedOutcomesDecodeToTheSameOutcome() throws {
        let outcome = CallOutcome(
            timestamp: 1_795_651_200_000, app: "a \"b\"", endpoint: "chat/completions", model: "gpt-4o", status: 429,
            error: CallError(type: .rateLimit, code: "rate_limit_exceeded", message: "slow\ndown", retryable: true),
            attempt: 2, latencyMs: 12, timeToHeadersMs: 5, requestID: "req_1", streamed: true, finalAttempt: false)
        let decoded = try OutcomeDecoder(now: 1_795_651_200_000).decode(line: OutcomeEncoder.jsonLine(outcome))
        #expect(decoded == outcome)
        let success = CallOutcome(timestamp: 1_795_651_200_000, app: "a", endpoint: "", status: nil, error: CallError(type: .timeout, message: "m", retryable: true))
        #expect(try OutcomeDecoder(now: 1_795_651_200_000).decode(line: OutcomeEncoder.jsonLine(success)) == success)
    }
}
