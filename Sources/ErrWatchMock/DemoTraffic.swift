import AsyncHTTPClient
import ErrWatchCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Simulated apps for `errwatch demo`: a few clients calling chat completions (some streamed)
/// and embeddings through the agent, retrying as the provider guide advises — retryable
/// errors only, exponential backoff with jitter, `retry-after` honoured, at most three retries —
/// and telling the agent the attempt number the way the OpenAI SDKs do.
public struct DemoTraffic: Sendable {
    /// What the clients saw, counted as they go.
    public struct Tally: Sendable, Hashable {
        /// Calls made (a call is a request and its retries).
        public var calls = 0
        /// Attempts sent, retries included.
        public var attempts = 0
        /// Retries sent.
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

    /// Clients sending about `requestsPerSecond` in all to `baseURL` (the agent's `/v1`), with
    /// an optional burst of rate limiting (the fake upstream's `x-mock-status` test header).
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
    /// The simulated apps' retries: full jitter from 100 ms, doubling, the server's delay up
    /// to 2 s honoured (short, so that a 90-second demo shows recovery).
    static let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2), jitter: 1, maximumServerDelay: .seconds(2))

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
        while ContinuousClock.now < deadline, !Task.isCancelled, !stopping.isSet {
            let roll = random.unit()
            let model = Self.models[Int(random.next() % UInt64(Self.models.count))]
            let (path, body) = roll < 0.15
                ? ("/embeddings", #"{"model":"text-embedding-3-small","input":"errwatch demo"}"#)
                : ("/chat/completions", #"{"model":"\#(model)","stream":\#(roll > 0.7),"messages":[{"role":"user","content":"Hello"}]}"#)
            await call(path: path, body: body, app: app, random: &random)
            try? await Task.sleep(for: pause * (0.5 + random.unit()))
        }
    }

    /// One call: the first attempt and the retries the guide allows.
    private func call(path: String, body: String, app: String, random: inout SplitMix64) async {
        tally.update { $0.calls += 1 }
        for attempt in 0...3 {
            tally.update {
                $0.attempts += 1
                if attempt > 0 { $0.retries += 1 }
            }
            var request = HTTPClientRequest(url: baseURL + path)
            request.method = .POST
            request.headers.add(name: "authorization", value: "Bearer sk-demo-not-a-real-key-0000")
            request.headers.add(name: "content-type", value: "application/json")
            request.headers.add(name: "x-errwatch-app", value: app)
            request.headers.add(name: "x-stainless-retry-count", value: String(attempt))
            if let burst, burst.during.contains(.now), random.unit() < burst.share {
                request.headers.add(name: "x-mock-status", value: "429")
            }
            request.body = .bytes(ByteBuffer(string: body))
            var status = 0
            var serverDelay: Duration?
            var failedInStream = false
            do {
                let response = try await client.execute(request, timeout: .seconds(30))
                status = Int(response.status.code)
                let headers = ErrWatchCore.HTTPHeaders(response.headers.map { ($0.name, $0.value) })
                serverDelay = RetryDelay.milliseconds(from: headers, now: Timestamp.now()).map { .milliseconds($0) }
                // The agent's rule for an error event in a stream (StreamScanner), so both judge alike.
                var scanner = StreamScanner(now: 0)
                scanner.feed(try await response.body.collect(upTo: 1 << 20).readableBytesView)
                failedInStream = status == 200 && scanner.error != nil
            } catch {
                status = 0
            }
            let retryable = status == 0 || failedInStream || Classifier.retryable(status: status)
            if (200..<400).contains(status), !failedInStream { return }
            guard retryable, attempt < 3 else {
                tally.update { $0.failed += 1 }
                return
            }
            try? await Task.sleep(for: Self.backoff.delay(retry: attempt + 1, random: random.unit(), serverDelay: serverDelay))
            if Task.isCancelled || stopping.isSet { return }
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
