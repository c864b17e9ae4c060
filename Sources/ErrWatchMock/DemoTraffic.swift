import AsyncHTTPClient
import ErrWatchClient
import ErrWatchCore
import Foundation
import Synchronization

/// Simulated apps for `errwatch demo`: a few apps calling chat completions (some streamed)
/// and embeddings through the agent with errwatch's own client library, `ErrWatchClient`, so
/// they retry as it does — retryable errors only, exponential backoff with jitter,
/// `retry-after` honoured, at most three retries, the attempt number sent the way the OpenAI
/// SDKs send it. The agent records every attempt as the proxy; the apps record nothing
/// themselves (that would count each call twice), they only count.
public struct DemoTraffic: Sendable {
    /// What the apps saw, counted as they go.
    public struct Tally: Sendable, Hashable {
        /// Calls made (a call is a request and its retries).
        public var calls = 0
        /// Attempts answered, retries included.
        public var attempts = 0
        /// Retries answered.
        public var retries = 0
        /// Calls that still failed after their retries.
        public var failed = 0

        /// Nothing counted yet.
        public init() {}
    }

    let client: HTTPClient
    let baseURL: String
    let clients: Int
    let requestsPerSecond: Double
    /// A provider rate-limit storm: while it lasts, each attempt is answered 429 with this share.
    let burst: (during: Range<ContinuousClock.Instant>, share: Double)?
    private let tally = TallyBox()
    private let stopping = StopFlag()

    /// Apps sending about `requestsPerSecond` in all to `baseURL` (the agent's `/v1`), with
    /// an optional burst of rate limiting (the fake upstream's `x-mock-status` and
    /// `x-mock-status-share` test headers).
    public init(client: HTTPClient, baseURL: String, clients: Int = 4, requestsPerSecond: Double = 25,
                burst: (during: Range<ContinuousClock.Instant>, share: Double)? = nil) {
        self.client = client
        self.baseURL = baseURL
        self.clients = clients
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
    }

    /// The counts so far.
    public var counts: Tally { tally.value }

    static let apps = ["chat-web", "support-bot", "batch-summarizer"]
    static let models = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4"]
    /// The simulated apps' retry policy: full jitter from 100 ms, doubling, the server's delay
    /// up to 2 s honoured (short, so that a 90-second demo shows recovery).
    static var policy: RetryPolicy {
        var policy = RetryPolicy()
        policy.initialBackoff = .milliseconds(100)
        policy.maxBackoff = .seconds(2)
        policy.jitter = 1
        policy.maxServerDelay = .seconds(2)
        policy.timeout = .seconds(30)
        return policy
    }

    /// Stops starting calls; the calls under way finish (so that none is recorded as abandoned).
    public func stop() { stopping.set() }

    /// Sends traffic until the task is cancelled, ``stop()`` is called, or `until` passes.
    public func run(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<clients {
                group.addTask { await runClient(index, until: deadline) }
            }
        }
    }

    private func runClient(_ index: Int, until deadline: ContinuousClock.Instant) async {
        var random = SplitMix64(seed: UInt64(index + 1) &* 7_919)
        let pause = Duration.seconds(Double(clients) / requestsPerSecond)
        let app = Self.apps[index % Self.apps.count]
        let api = ErrWatchClient(
            baseURL: baseURL, apiKey: "sk-demo-not-a-real-key-0000", policy: Self.policy, recorder: TallyRecorder(tally: tally),
            app: app, httpClient: client, seed: random.next())
        while ContinuousClock.now < deadline, !Task.isCancelled, !stopping.isSet {
            let roll = random.unit()
            let model = Self.models[Int(random.next() % UInt64(Self.models.count))]
            var headers = [("x-errwatch-app", app)]
            if let burst, burst.during.contains(.now) {
                headers += [("x-mock-status", "429"), ("x-mock-status-share", String(burst.share))]
            }
            tally.update { $0.calls += 1 }
            do {
                if roll < 0.15 {
                    _ = try await api.send(path: "/embeddings", json: Array(#"{"model":"text-embedding-3-small","input":"errwatch demo"}"#.utf8), headers: headers)
                } else if roll > 0.7 {
                    for try await _ in api.streamChatCompletions(json: Self.chat(model, stream: true), headers: headers) {}
                } else {
                    _ = try await api.send(path: "/chat/completions", json: Array(Self.chat(model, stream: false).utf8), headers: headers)
                }
            } catch is CancellationError {
                return
            } catch {
                tally.update { $0.failed += 1 }
            }
            try? await Task.sleep(for: pause * (0.5 + random.unit()))
        }
    }

    private static func chat(_ model: String, stream: Bool) -> String {
        #"{"model":"\#(model)","stream":\#(stream),"messages":[{"role":"user","content":"Hello"}]}"#
    }
}

/// Counts each attempt the client library reports, instead of recording it.
struct TallyRecorder: OutcomeRecorder {
    let tally: TallyBox

    func record(_ outcome: CallOutcome) {
        tally.update {
            $0.attempts += 1
            if outcome.attempt > 0 { $0.retries += 1 }
        }
    }
}

/// Whether the traffic was told to stop, shared by the clients.
final class StopFlag: Sendable {
    private let flag = Mutex(false)
    var isSet: Bool { flag.withLock { $0 } }
    func set() { flag.withLock { $0 = true } }
}

/// The tally, shared by the clients.
final class TallyBox: Sendable {
    private let tally = Mutex(DemoTraffic.Tally())
    var value: DemoTraffic.Tally { tally.withLock { $0 } }
    func update(_ change: (inout DemoTraffic.Tally) -> Void) { tally.withLock { change(&$0) } }
}
