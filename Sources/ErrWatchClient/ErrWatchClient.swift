import AsyncHTTPClient
import ErrWatchCore
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// An OpenAI-compatible API client that follows the provider guide's advice by itself —
/// retryable errors retried with exponential backoff and jitter, server delays honoured,
/// timeouts, fallback models — and reports every attempt to errwatch.
///
/// ```swift
/// var policy = RetryPolicy()
/// policy.fallbackModels = ["gpt-4o-mini"]
/// let client = ErrWatchClient(baseURL: "https://api.ofox.ai/v1", apiKey: key, policy: policy,
///                             recorder: AgentRecorder(agentURL: "http://127.0.0.1:8787"))
/// let reply = try await client.chatCompletions(json: #"{"model":"gpt-4o","messages":[…]}"#)
/// ```
public final class ErrWatchClient: Sendable {
    /// The clock a call's waits and deadline are measured on; tests inject one whose waits
    /// pass at once.
    public struct Timing: Sendable {
        /// The current instant.
        public var now: @Sendable () -> ContinuousClock.Instant
        /// Waits `duration` (throwing `CancellationError` when the task is cancelled).
        public var sleep: @Sendable (Duration) async throws -> Void

        /// A timing from the two functions.
        public init(now: @escaping @Sendable () -> ContinuousClock.Instant, sleep: @escaping @Sendable (Duration) async throws -> Void) {
            self.now = now
            self.sleep = sleep
        }

        /// The real clock.
        public static let real = Timing(now: { ContinuousClock.now }, sleep: { try await Task.sleep(for: $0) })
    }

    /// A successful response.
    public struct Response: Sendable {
        /// The HTTP status (below 400).
        public var status: Int
        /// The response headers.
        public var headers: ErrWatchCore.HTTPHeaders
        /// The body.
        public var body: [UInt8]
        /// The model that answered (a fallback when the first failed).
        public var model: String
        /// Attempts made, this one included.
        public var attempts: Int

        /// The body as text.
        public var text: String { String(decoding: body, as: UTF8.self) }
        /// The body as a chat completion, when it is one.
        public var completion: ChatCompletion? { try? JSONDecoder().decode(ChatCompletion.self, from: Data(body)) }
        /// The first answer of a chat completion, when the body is one.
        public var answer: String? { completion?.choices.first?.message.content }
    }

    /// The API's base URL, such as `https://api.ofox.ai/v1`.
    public let baseURL: String
    /// The provider recorded with each call: given, else derived from the base URL's host
    /// (``Provider/name(host:)``: `api.openai.com` is `openai`).
    public let provider: String
    /// How calls are retried, timed out and fallen back.
    public let policy: RetryPolicy
    let apiKey: String
    private let recorder: (any OutcomeRecorder)?
    let app: String
    let http: HTTPClient
    private let ownsHTTPClient: Bool
    private let timing: Timing
    private let random: Mutex<SplitMix64>

    /// A client for `baseURL` authenticating with `apiKey`. Without `httpClient` it makes its
    /// own and shuts it down in ``shutdown()``; a given one is used as is. `app` names this
    /// application in errwatch, `provider` whose API `baseURL` is (derived from its host when nil).
    public init(
        baseURL: String, apiKey: String, policy: RetryPolicy = RetryPolicy(), recorder: (any OutcomeRecorder)? = nil,
        app: String = "default", provider: String? = nil, httpClient: HTTPClient? = nil, timing: Timing = .real,
        seed: UInt64 = UInt64.random(in: 1...UInt64.max)
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.provider = provider ?? Provider.name(host: Provider.host(ofURL: baseURL))
        self.apiKey = apiKey
        self.policy = policy
        self.recorder = recorder
        self.app = app
        self.timing = timing
        random = Mutex(SplitMix64(seed: seed))
        if let httpClient {
            http = httpClient
            ownsHTTPClient = false
        } else {
            var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
            configuration.timeout.connect = .nanoseconds(policy.connectTimeout.wholeNanoseconds)
            // A refused connection is an attempt that failed, retried by the policy, not by the pool.
            configuration.connectionPool.retryConnectionEstablishment = false
            http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            ownsHTTPClient = true
        }
    }

    /// Shuts down the HTTP client this client made (a given one is left alone).
    public func shutdown() async throws {
        if ownsHTTPClient { try await http.shutdown() }
    }

    /// `POST /chat/completions` with a JSON body (not streamed).
    public func chatCompletions(json: String) async throws -> Response {
        try await send(path: "/chat/completions", json: Array(json.utf8))
    }

    /// `POST /embeddings` with a JSON body.
    public func embeddings(json: String) async throws -> Response {
        try await send(path: "/embeddings", json: Array(json.utf8))
    }

    /// Sends a request to `path` (under the base URL) with an optional JSON body and extra
    /// headers, retrying and falling back as the policy says. Throws ``APIError`` for a failed call and
    /// `CancellationError` when the task is cancelled, at once, even mid-wait.
    public func send(method: String = "POST", path: String, json: [UInt8]? = nil, headers: [(String, String)] = []) async throws -> Response {
        let (success, model, attempts) = try await withRetries(json: json, timeout: policy.timeout) { body, model, attempt, timeout in
            await perform(method: method, path: path, body: body, headers: headers, model: model, attempt: attempt, timeout: timeout)
        }
        var outcome = success.outcome
        outcome.finalAttempt = true
        record(outcome)
        return Response(status: success.status, headers: success.headers, body: success.body, model: model, attempts: attempts)
    }

    /// The policy's loop around `attempt`: retries with waits, fallbacks to the next model, the
    /// deadline. Failed attempts are recorded here; the caller records the success.
    func withRetries<T>(
        json: [UInt8]?, timeout: Duration,
        _ attempt: (_ body: [UInt8]?, _ model: String, _ number: Int, _ timeout: Duration) async -> Result<T, Failure>
    ) async throws -> (T, model: String, attempts: Int) {
        let requested = json.map { RequestFields(prefix: $0).model } ?? ""
        let models = policy.gatewayFallback || requested.isEmpty ? [requested] : [requested] + policy.fallbackModels
        let callStarted = timing.now()
        var attempts = 0
        var lastError: APIError?

        for (modelIndex, model) in models.enumerated() {
            let body = try json.map { try Self.body($0, model: modelIndex == 0 ? nil : model, gatewayFallback: policy.gatewayFallback ? policy.fallbackModels : []) }
            let hasNextModel = modelIndex + 1 < models.count
            for retry in 0...policy.maxRetries {
                try Task.checkCancellation()
                let number = attempts
                attempts += 1
                switch await attempt(body, model, number, remaining(from: callStarted, within: timeout)) {
                case .success(let value):
                    return (value, model, attempts)
                case .failure(let failure):
                    var error = failure.error
                    error.attempts = attempts
                    lastError = error
                    let next = decide(error, retry: retry, hasNextModel: hasNextModel, elapsed: callStarted.duration(to: timing.now()))
                    var outcome = failure.outcome
                    outcome.finalAttempt = next == .fail
                    record(outcome)
                    switch next {
                    case .fail: throw error
                    case .nextModel: break
                    case .retry(let wait):
                        try await timing.sleep(wait)
                        continue
                    }
                }
                // Here only after `.nextModel`: leave this model's retries.
                break
            }
        }
        throw lastError ?? APIError(status: nil, type: .unknown, code: "", message: "No attempt was made.", retryable: false, attempts: 0, model: requested)
    }

    /// What follows a failed attempt.
    enum Next: Equatable {
        case retry(after: Duration)
        case nextModel
        case fail
    }

    /// The guide's advice for a failed attempt, within the policy: not retryable → fail; 502 or
    /// 503 with a fallback left → the next model at once; retries left → wait (the server's delay
    /// if it gave one, capped, else the backoff) and retry, unless the deadline would pass;
    /// retries spent → the next model, or fail.
    func decide(_ error: APIError, retry: Int, hasNextModel: Bool, elapsed: Duration) -> Next {
        guard error.retryable else { return .fail }
        if hasNextModel, error.status == 502 || error.status == 503 { return .nextModel }
        guard retry < policy.maxRetries else { return hasNextModel ? .nextModel : .fail }
        if let asked = error.retryAfter, asked > policy.maxServerDelay { return .fail }
        let wait = error.retryAfter ?? policy.backoff(retry: retry + 1, random: random.withLock { $0.unit() })
        if let deadline = policy.deadline, elapsed + wait > deadline { return .fail }
        return .retry(after: wait)
    }

    /// The time left for one attempt: its own timeout, or less when the call's deadline is near.
    private func remaining(from started: ContinuousClock.Instant, within timeout: Duration) -> Duration {
        guard let deadline = policy.deadline else { return timeout }
        return max(.milliseconds(1), min(timeout, deadline - started.duration(to: timing.now())))
    }

    struct Success {
        var status: Int
        var headers: ErrWatchCore.HTTPHeaders
        var body: [UInt8]
        var outcome: CallOutcome
    }

    struct Failure: Error {
        var error: APIError
        var outcome: CallOutcome
    }

    /// One attempt, classified.
    private func perform(method: String, path: String, body: [UInt8]?, headers extra: [(String, String)], model: String, attempt: Int,
                         timeout: Duration) async -> Result<Success, Failure> {
        let startedAt = Timestamp.now()
        let started = ContinuousClock.now
        let request = makeRequest(method: HTTPMethod(rawValue: method), path: path, body: body, headers: extra, attempt: attempt)
        let endpoint = Endpoint.normalize(path)
        func outcome(status: Int?, error: CallError?, requestID: String?, headersAfter: Duration?) -> CallOutcome {
            let elapsed = started.duration(to: .now)
            return CallOutcome(
                timestamp: startedAt, app: app, endpoint: endpoint, model: model, provider: provider, status: status, error: error, attempt: attempt,
                latencyMs: elapsed.wholeMilliseconds,
                timeToHeadersMs: headersAfter?.wholeMilliseconds,
                requestID: requestID)
        }
        do {
            let (status, headers, bytes, headersAfter) = try await withTimeout(timeout) { [http] in
                let response = try await http.execute(request, timeout: .nanoseconds(timeout.wholeNanoseconds))
                let headersAfter = started.duration(to: .now)
                let headers = ErrWatchCore.HTTPHeaders(response.headers.map { ($0.name, $0.value) })
                let buffer = try await response.body.collect(upTo: 256 << 20)
                return (Int(response.status.code), headers, Array(buffer.readableBytesView), headersAfter)
            }
            let requestID = headers["x-request-id"] ?? headers["request-id"]
            let now = Timestamp.now()
            if let error = Classifier.classify(status: status, headers: headers, body: bytes, now: now) {
                return .failure(Failure(
                    error: APIError(error, status: status, requestID: requestID, attempts: attempt + 1, model: model),
                    outcome: outcome(status: status, error: error, requestID: requestID, headersAfter: headersAfter)))
            }
            return .success(Success(status: status, headers: headers, body: bytes,
                                    outcome: outcome(status: status, error: nil, requestID: requestID, headersAfter: headersAfter)))
        } catch {
            let classified = transportError(error, timeout: timeout)
            return .failure(Failure(
                error: APIError(classified, status: nil, requestID: nil, attempts: attempt + 1, model: model),
                outcome: outcome(status: nil, error: classified, requestID: nil, headersAfter: nil)))
        }
    }

    func record(_ outcome: CallOutcome) {
        recorder?.record(outcome)
    }

    /// `json` with its `model` replaced, and the gateway's fallback list added when asked.
    static func body(_ json: [UInt8], model: String?, gatewayFallback: [String]) throws -> [UInt8] {
        guard model != nil || !gatewayFallback.isEmpty else { return json }
        guard var object = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else { return json }
        if let model { object["model"] = model }
        if !gatewayFallback.isEmpty {
            var provider = object["provider"] as? [String: Any] ?? [:]
            provider["fallback"] = gatewayFallback
            object["provider"] = provider
        }
        return Array(try JSONSerialization.data(withJSONObject: object))
    }
}

/// An attempt that ran past its timeout.
struct AttemptTimedOut: Error {}

/// Runs `body`, cancelling it and throwing ``AttemptTimedOut`` after `timeout`.
func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw AttemptTimedOut() }
        return value
    }
}
