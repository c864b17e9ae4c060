import AsyncHTTPClient
import ErrWatchCore
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Sends outcomes to a running errwatch agent (`POST /api/v1/events`) in batches.
///
/// `record` only appends to a bounded buffer: when it is full, the outcome is dropped and
/// counted, never waited for. ``run()`` sends a batch every ``flushInterval``; a batch the
/// agent does not take (it is down, or answers an error) is dropped and counted, so a dead
/// agent costs the app nothing. ``shutdown()`` sends what is left.
public final class AgentRecorder: OutcomeRecorder {
    /// What happened to the outcomes handed over.
    public struct Statistics: Sendable, Hashable {
        /// Outcomes the agent accepted.
        public var sent = 0
        /// Outcomes dropped: buffer full, or their batch not accepted.
        public var dropped = 0
        /// Outcomes waiting in the buffer.
        public var queued = 0
    }

    /// The agent's base URL, such as `http://127.0.0.1:8787`.
    public let agentURL: String
    /// Outcomes the buffer holds at most.
    public let capacity: Int
    /// Time between batches.
    public let flushInterval: Duration
    private let token: String?
    private let http: HTTPClient
    private let ownsHTTPClient: Bool
    private let state = Mutex<(buffer: [CallOutcome], statistics: Statistics, stopped: Bool)>(([], Statistics(), false))

    /// A recorder for the agent at `agentURL`; `token` is its `auth_token`, if it has one.
    public init(agentURL: String, token: String? = nil, capacity: Int = 10_000, flushInterval: Duration = .seconds(1),
                httpClient: HTTPClient? = nil) {
        self.agentURL = agentURL.hasSuffix("/") ? String(agentURL.dropLast()) : agentURL
        self.token = token
        self.capacity = capacity
        self.flushInterval = flushInterval
        if let httpClient {
            http = httpClient
            ownsHTTPClient = false
        } else {
            var configuration = HTTPClient.Configuration()
            // An agent that is down costs one refused connection per batch, not a wait.
            configuration.connectionPool.retryConnectionEstablishment = false
            configuration.timeout.connect = .seconds(2)
            http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            ownsHTTPClient = true
        }
    }

    public func record(_ outcome: CallOutcome) {
        state.withLock { state in
            guard !state.stopped, state.buffer.count < capacity else {
                state.statistics.dropped += 1
                return
            }
            state.buffer.append(outcome)
        }
    }

    /// The counters now.
    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.queued = state.buffer.count
            return statistics
        }
    }

    /// Sends a batch every ``flushInterval`` until cancelled or shut down.
    public func run() async {
        while !state.withLock({ $0.stopped }), !Task.isCancelled {
            try? await Task.sleep(for: flushInterval)
            await flush()
        }
    }

    /// Stops taking outcomes, sends what is buffered, and shuts down its own HTTP client.
    public func shutdown() async throws {
        state.withLock { $0.stopped = true }
        await flush()
        if ownsHTTPClient { try await http.shutdown() }
    }

    /// Sends everything buffered now, in batches of at most 1,000.
    public func flush() async {
        while true {
            let batch = state.withLock { state -> [CallOutcome] in
                let batch = Array(state.buffer.prefix(1_000))
                state.buffer.removeFirst(batch.count)
                return batch
            }
            guard !batch.isEmpty else { return }
            let accepted = await send(batch)
            state.withLock { state in
                state.statistics.sent += accepted
                state.statistics.dropped += batch.count - accepted
            }
        }
    }

    /// Posts `batch` as newline-delimited JSON; returns how many the agent accepted.
    private func send(_ batch: [CallOutcome]) async -> Int {
        var request = HTTPClientRequest(url: agentURL + "/api/v1/events")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/x-ndjson")
        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        request.body = .bytes(ByteBuffer(string: batch.map(OutcomeEncoder.jsonLine).joined(separator: "\n")))
        do {
            let response = try await http.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .accepted else { return 0 }
            // An agent that answers 202 took the batch; its receipt says whether it dropped any.
            let receipt = try? JSONDecoder().decode(IngestReceipt.self, from: Data(body.readableBytesView))
            return receipt?.accepted ?? batch.count
        } catch {
            return 0
        }
    }
}
