import AsyncHTTPClient
import ErrWatchCore
import Foundation
import NIOCore
import NIOHTTP1

/// One chunk of a streamed chat completion, as OpenAI-compatible APIs send it.
public struct ChatCompletionChunk: Decodable, Sendable, Hashable {
    /// One choice's part of the chunk.
    public struct Choice: Decodable, Sendable, Hashable {
        /// The new text and role, if any.
        public struct Delta: Decodable, Sendable, Hashable {
            public var role: String?
            public var content: String?
        }
        public var index: Int
        public var delta: Delta
        public var finishReason: String?

        enum CodingKeys: String, CodingKey {
            case index, delta
            case finishReason = "finish_reason"
        }
    }

    public var id: String?
    public var model: String?
    public var choices: [Choice]
}

/// A chat completion, as OpenAI-compatible APIs answer one.
public struct ChatCompletion: Decodable, Sendable, Hashable {
    /// One answer.
    public struct Choice: Decodable, Sendable, Hashable {
        /// The answer's message.
        public struct Message: Decodable, Sendable, Hashable {
            public var role: String
            public var content: String?
        }
        public var index: Int
        public var message: Message
        public var finishReason: String?

        enum CodingKeys: String, CodingKey {
            case index, message
            case finishReason = "finish_reason"
        }
    }

    /// Tokens used.
    public struct Usage: Decodable, Sendable, Hashable {
        public var promptTokens: Int
        public var completionTokens: Int?
        public var totalTokens: Int

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
        }
    }

    public var id: String
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?
}

/// An embeddings response.
public struct Embeddings: Decodable, Sendable, Hashable {
    /// One input's vector.
    public struct Item: Decodable, Sendable, Hashable {
        public var index: Int
        public var embedding: [Double]
    }

    public var model: String
    public var data: [Item]
}

extension ErrWatchClient.Response {
    /// The body decoded as a chat completion.
    public func chatCompletion() throws -> ChatCompletion {
        try JSONDecoder().decode(ChatCompletion.self, from: Data(body))
    }

    /// The body decoded as embeddings.
    public func embeddings() throws -> Embeddings {
        try JSONDecoder().decode(Embeddings.self, from: Data(body))
    }
}

extension ErrWatchClient {
    /// `POST /chat/completions` with `"stream": true` set: the chunks as they arrive.
    ///
    /// The request is sent when iteration starts. Failures before the stream opens (an error
    /// status, no connection) are retried and fallen back as the policy says; once chunks flow,
    /// nothing is retried: an error event inside the stream, or the stream breaking off, ends the
    /// iteration with an ``APIError``. Every attempt is recorded, the streamed one when it ends.
    public func streamChatCompletions(json: String, headers: [(String, String)] = []) -> ChatCompletionStream {
        ChatCompletionStream(client: self, json: json, headers: headers)
    }

    /// What an opened stream needs to go on.
    struct OpenStream: @unchecked Sendable {
        // The response is consumed by one iterator only, on one task.
        var response: HTTPClientResponse
        var headers: ErrWatchCore.HTTPHeaders
        var outcome: CallOutcome
        var started: ContinuousClock.Instant
    }

    /// One attempt to open a stream: the response when its status is a success, else the
    /// classified failure.
    func openStream(body: [UInt8]?, headers extra: [(String, String)], model: String, attempt: Int, timeout: Duration) async -> Result<OpenStream, Failure> {
        let started = ContinuousClock.now
        let startedAt = Timestamp.now()
        var request = makeRequest(method: .POST, path: "/chat/completions", body: body, headers: extra, attempt: attempt)
        request.headers.add(name: "accept", value: "text/event-stream")
        var outcome = CallOutcome(timestamp: startedAt, app: app, endpoint: "chat/completions", model: model, provider: provider,
                                  status: nil, attempt: attempt, streamed: true)
        do {
            let response = try await http.execute(request, timeout: .nanoseconds(timeout.wholeNanoseconds))
            let headers = ErrWatchCore.HTTPHeaders(response.headers.map { ($0.name, $0.value) })
            let status = Int(response.status.code)
            outcome.status = status
            outcome.requestID = headers["x-request-id"] ?? headers["request-id"]
            outcome.timeToHeadersMs = started.duration(to: .now).wholeMilliseconds
            if status < 400 {
                return .success(OpenStream(response: response, headers: headers, outcome: outcome, started: started))
            }
            let bytes = Array((try? await response.body.collect(upTo: Classifier.maxBodyBytes * 4))?.readableBytesView ?? ByteBuffer().readableBytesView)
            let error = Classifier.classify(status: status, headers: headers, body: bytes, now: startedAt)!
            outcome.error = error
            outcome.latencyMs = started.duration(to: .now).wholeMilliseconds
            return .failure(Failure(
                error: APIError(error, status: status, requestID: outcome.requestID, attempts: attempt + 1, model: model),
                outcome: outcome))
        } catch {
            let classified = transportError(error, timeout: timeout)
            outcome.error = classified
            outcome.latencyMs = started.duration(to: .now).wholeMilliseconds
            return .failure(Failure(
                error: APIError(classified, status: nil, requestID: nil, attempts: attempt + 1, model: model),
                outcome: outcome))
        }
    }
}

/// The chunks of a streamed chat completion; see ``ErrWatchClient/streamChatCompletions(json:headers:)``.
public struct ChatCompletionStream: AsyncSequence, Sendable {
    public typealias Element = ChatCompletionChunk

    let client: ErrWatchClient
    let json: String
    let headers: [(String, String)]

    public func makeAsyncIterator() -> Iterator {
        Iterator(client: client, json: json, headers: headers)
    }

    /// Reads the stream; sends the request on the first `next()`.
    public struct Iterator: AsyncIteratorProtocol {
        let client: ErrWatchClient
        let json: String
        let headers: [(String, String)]
        private var open: ErrWatchClient.OpenStream?
        private var body: HTTPClientResponse.Body.AsyncIterator?
        private var attempts = 0
        private var lines: [UInt8] = []
        private var pending: [ChatCompletionChunk] = []
        private var finished = false
        private let decoder = JSONDecoder()
        /// The agent's scanner, for when content first came and how many events there were.
        private var scanner = StreamScanner(now: 0)
        private var timeToFirstToken: Duration?

        init(client: ErrWatchClient, json: String, headers: [(String, String)]) {
            self.client = client
            self.json = json
            self.headers = headers
        }

        public mutating func next() async throws -> ChatCompletionChunk? {
            if finished { return nil }
            if open == nil { try await start() }
            while pending.isEmpty {
                if finished { return nil }
                let chunk: ByteBuffer?
                do {
                    chunk = try await body!.next()
                } catch where Task.isCancelled || error is CancellationError {
                    finished = true
                    throw CancellationError()
                } catch {
                    throw fail(CallError(type: .upstream, code: "stream_interrupted",
                                         message: "The stream broke off before its end: \(error).", retryable: true))
                }
                guard let chunk else {
                    throw fail(CallError(type: .upstream, code: "stream_incomplete",
                                         message: "The stream ended without its [DONE] marker.", retryable: true))
                }
                try consume(chunk)
            }
            return pending.removeFirst()
        }

        private mutating func start() async throws {
            var body = Array(json.utf8)
            if var object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
                object["stream"] = true
                body = Array(try JSONSerialization.data(withJSONObject: object))
            }
            let extra = headers
            let client = client
            let (stream, _, attempts) = try await client.withRetries(json: body, timeout: client.policy.streamTimeout) { body, model, attempt, timeout in
                await client.openStream(body: body, headers: extra, model: model, attempt: attempt, timeout: timeout)
            }
            self.attempts = attempts
            open = stream
            self.body = stream.response.body.makeAsyncIterator()
        }

        /// Splits `chunk` into lines and decodes the `data:` ones.
        private mutating func consume(_ chunk: ByteBuffer) throws {
            scanner.feed(chunk.readableBytesView)
            if timeToFirstToken == nil, scanner.sawContent, let open { timeToFirstToken = open.started.duration(to: .now) }
            lines += chunk.readableBytesView
            while let newline = lines.firstIndex(of: UInt8(ascii: "\n")) {
                var line = lines[..<newline]
                lines.removeSubrange(...newline)
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                guard line.starts(with: Array("data:".utf8)) else { continue }
                let payload = String(decoding: line.dropFirst(5), as: UTF8.self).trimmingSpaces()
                if payload == "[DONE]" {
                    finish(error: nil)
                    return
                }
                // The agent's rule for an error event (StreamScanner), so both judge a chunk alike.
                if StreamScanner.isErrorObject(payload) {
                    throw fail(Classifier.classifyEvent(payload: Array(payload.utf8), now: open!.outcome.timestamp))
                }
                if let decoded = try? decoder.decode(ChatCompletionChunk.self, from: Data(payload.utf8)) {
                    pending.append(decoded)
                }
            }
        }

        /// Records the streamed attempt's end.
        private mutating func finish(error: CallError?) {
            finished = true
            guard var outcome = open?.outcome else { return }
            outcome.error = error
            // Nothing is retried once a stream has opened: this attempt is the call's last.
            outcome.finalAttempt = true
            outcome.latencyMs = open!.started.duration(to: .now).wholeMilliseconds
            outcome.timeToFirstTokenMs = timeToFirstToken?.wholeMilliseconds
            outcome.chunks = scanner.chunks
            client.record(outcome)
        }

        /// Records the stream's failure and returns the error to throw.
        private mutating func fail(_ error: CallError) -> APIError {
            finish(error: error)
            return APIError(status: open?.outcome.status, type: error.type, code: error.code, message: error.message,
                            retryable: error.retryable, requestID: open?.outcome.requestID, attempts: attempts, model: open?.outcome.model ?? "")
        }
    }
}
