import ErrWatchAgent
import ErrWatchCore
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// A fake OpenAI-compatible API for demos, tests and load tests: chat completions (JSON and
/// streamed), embeddings and models, failing with the provider guide's errors at the rates
/// it is told, each with its unified body and the headers a real API sends.
///
/// A request may force its outcome with headers, which tests use: `x-mock-status: 429`
/// (with `x-mock-status-share: 0.6`, only that share of requests, drawn one by one; the
/// others as the mix says), `x-mock-latency-ms: 250`, `x-mock-first-token-ms: 800` (a stream's
/// first content comes that long after its opening role-only chunk, as a model that thinks
/// first does), `x-mock-stream-error: true` (an error event mid-stream),
/// `x-mock-cut: true` (the connection drops mid-stream), `x-mock-fail-model: gpt-4o` (the forced
/// status applies only to that model), `x-mock-should-retry: false` (sent back as `x-should-retry`)
/// `x-mock-retry-header: retry-after-ms=250` (a 429 carries only that retry header) and
/// `x-mock-body: BASE64` (the forced error is answered with exactly these bytes, as a real
/// provider's body quoted in its docs, or a hostile one, would come; with `x-mock-headers:
/// BASE64` of a JSON object, exactly those headers beside it).
public struct MockUpstream: Sendable {
    /// How the fake behaves.
    public struct Configuration: Sendable {
        /// Error statuses and the share of requests that get each.
        public var mix: [(status: Int, share: Double)] = [(429, 0.05), (500, 0.01), (502, 0.02), (503, 0.01)]
        /// Latency before the response headers, in milliseconds, drawn uniformly.
        public var latencyMs: ClosedRange<Int64> = 0...0
        /// When set, the fake serves HTTPS with this context (its certificate and key).
        public var tls: NIOSSLContext?
        /// Share of streams that carry an error event instead of finishing.
        public var streamErrorShare = 0.0
        /// Chunks in a streamed completion, and the pause between them.
        public var streamChunks = 8
        public var chunkDelayMs: Int64 = 0
        /// The pause between a stream's role-only opening chunk (sent with the headers, as
        /// OpenAI does) and its first content; 0 for the chunk delay.
        public var firstTokenDelayMs: Int64 = 0
        /// Whose error bodies it answers with (``Dialect``).
        public var dialect = Dialect.guide
        /// The largest request body read; a larger one gets 413.
        public var maxBodyBytes = 32 << 20
        /// Seed of the random choices, for reproducible runs.
        public var seed: UInt64 = 1
        public var host = "127.0.0.1"
        public var port = 8788

        public init() {}

        /// Parses a mix such as `429=5%,500=1%,502=2%,503=1%`.
        public static func parseMix(_ text: String) throws(ErrWatchError) -> [(status: Int, share: Double)] {
            var mix: [(status: Int, share: Double)] = []
            for part in text.split(separator: ",") {
                let pieces = part.split(separator: "=")
                guard pieces.count == 2, let status = Int(pieces[0].trimmingSpaces()), (400...599).contains(status),
                      let share = Share.parse(pieces[1])
                else {
                    throw ErrWatchError(.invalidArgument, "Invalid mix entry '\(part)'; write STATUS=SHARE pairs such as 429=5%,500=1%.")
                }
                mix.append((status, share))
            }
            guard mix.reduce(0, { $0 + $1.share }) <= 1 else {
                throw ErrWatchError(.invalidArgument, "The mix '\(text)' adds up to more than 100%.")
            }
            return mix
        }
    }

    /// A server TLS context from PEM files: the certificate (or chain) and its private key.
    public static func tlsContext(certificate: String, key: String) throws(ErrWatchError) -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate)
            guard !chain.isEmpty else { throw ErrWatchError(.invalidArgument, "\(certificate) holds no PEM certificate.") }
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            tls.applicationProtocols = ["http/1.1"]
            return try NIOSSLContext(configuration: tls)
        } catch let error as ErrWatchError {
            throw error
        } catch {
            throw ErrWatchError(.invalidArgument, "Cannot serve TLS with \(certificate) and \(key): \(error).")
        }
    }

    public let configuration: Configuration
    private let state: MockState

    /// Streams the fake stopped because their reader went away (a proxy that cancels its
    /// upstream request when its client hangs up makes this count go up).
    public var abandonedStreams: Int { state.abandonedStreams }
    let logger: Logger

    public init(configuration: Configuration, logger: Logger = Logger(label: "errwatch.mock-upstream")) {
        self.configuration = configuration
        self.logger = logger
        state = MockState(seed: configuration.seed)
    }

    /// The router answers only what the fake does not serve (404 in the unified body): the API
    /// itself is served by ``MockUpstreamHandler``, in front of the router.
    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: UnknownRouteMiddleware())
        return router
    }

    /// The HTTP application; `onServerRunning` learns the bound port.
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        makeServerApplication(router: buildRouter(), host: configuration.host, port: configuration.port, name: "mock-upstream",
                        logger: logger, onServerRunning: onServerRunning, tls: configuration.tls,
                        frontHandlers: { [self] in [MockUpstreamHandler(self)] })
    }

    // MARK: Replies

    /// What the fake answers: a status, headers, and a body whole or as a stream of events.
    struct Reply {
        var status: Int
        var headers: [(String, String)]
        var body: String
        /// Bytes sent instead of `body` when set: a body that need not be valid UTF-8.
        var rawBody: [UInt8]? = nil
        /// For a stream: its events, the pause before each after the first (but the closing
        /// `[DONE]`, which follows the last chunk at once), and whether the connection is cut
        /// after the last one instead of the stream ending.
        var events: [String] = []
        var eventDelayMs: Int64 = 0
        /// The pause after the first event (the role-only chunk), when longer than the others.
        var firstTokenDelayMs: Int64 = 0
        var endsWithDone = false
        var cut = false
    }

    /// The routes the fake serves; the router answers 404 for the rest.
    enum Route {
        case chat, embeddings, models

        init?(method: String, uri: String) {
            switch (method, uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]) {
            case ("POST", "/v1/chat/completions"): self = .chat
            case ("POST", "/v1/embeddings"): self = .embeddings
            case ("GET", "/v1/models"): self = .models
            default: return nil
            }
        }
    }

    /// The reply to a request on `route`, with the outcome drawn in `plan`.
    func reply(_ route: Route, header: (String) -> String?, body: ByteBuffer, plan: Plan) -> Reply {
        switch route {
        case .chat: chat(header: header, body: body, plan: plan)
        case .embeddings: embeddings(body: body, plan: plan)
        case .models: models(plan: plan)
        }
    }

    private func chat(header: (String) -> String?, body: ByteBuffer, plan: Plan) -> Reply {
        let fields = RequestFields(prefix: body.readableBytesView)
        let model = fields.model.isEmpty ? "gpt-4o" : fields.model
        let failing = header("x-mock-fail-model").map { $0 == fields.model } ?? true
        if let status = plan.status, failing || status == 401 {
            var reply = error(status, model: model, requestID: plan.requestID)
            if let advice = header("x-mock-should-retry") {
                reply.headers.append(("x-should-retry", advice))
            }
            if let only = header("x-mock-retry-header"), let equals = only.firstIndex(of: "=") {
                let retryHeaders: Set = ["retry-after", "retry-after-ms", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
                reply.headers.removeAll { retryHeaders.contains($0.0) }
                reply.headers.append((String(only[..<equals]).lowercased(), String(only[only.index(after: equals)...])))
            }
            if let encoded = header("x-mock-body"), let bytes = Data(base64Encoded: encoded) {
                // A replayed body comes with the replayed headers only: none of the fake's own
                // retry or content-type headers, which the real response did not have.
                reply.rawBody = Array(bytes)
                reply.headers.removeAll { $0.0 != "x-request-id" }
                if let encoded = header("x-mock-headers"), let data = Data(base64Encoded: encoded),
                   let replayed = try? JSONSerialization.jsonObject(with: data) as? [String: String] {
                    reply.headers += replayed.sorted { $0.key < $1.key }.map { ($0.key.lowercased(), $0.value) }
                }
            }
            return reply
        }
        let created = Timestamp.now() / 1_000
        let id = "chatcmpl-\(plan.requestID.dropFirst(4))"
        guard fields.stream else {
            return json(200, requestID: plan.requestID, remaining: plan.remaining, """
                {"id":"\(id)","object":"chat.completion","created":\(created),"model":\(JSONOutput.quoted(model)),"choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the errwatch mock upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}
                """)
        }
        var reply = Reply(status: 200, headers: baseHeaders(requestID: plan.requestID, remaining: plan.remaining), body: "")
        reply.headers += [("content-type", "text/event-stream"), ("cache-control", "no-cache")]
        reply.eventDelayMs = configuration.chunkDelayMs
        reply.firstTokenDelayMs = plan.firstTokenDelayMs
        // As OpenAI opens a stream: the role, no content yet.
        reply.events.append("""
            data: {"id":"\(id)","object":"chat.completion.chunk","created":\(created),"model":\(JSONOutput.quoted(model)),"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}


            """)
        for index in 0..<configuration.streamChunks {
            if index == configuration.streamChunks / 2 {
                if plan.streamError {
                    let event = ErrorBody(code: "upstream_error", message: "The upstream model failed mid-stream.", type: .upstream)
                    reply.events.append("data: \(event.json)\n\n")
                    return reply
                }
                if plan.cut {
                    reply.cut = true
                    return reply
                }
            }
            reply.events.append("""
                data: {"id":"\(id)","object":"chat.completion.chunk","created":\(created),"model":\(JSONOutput.quoted(model)),"choices":[{"index":0,"delta":{"content":"token\(index) "},"finish_reason":null}]}


                """)
        }
        reply.events.append("data: [DONE]\n\n")
        reply.endsWithDone = true
        return reply
    }

    private func embeddings(body: ByteBuffer, plan: Plan) -> Reply {
        let fields = RequestFields(prefix: body.readableBytesView)
        let model = fields.model.isEmpty ? "text-embedding-3-small" : fields.model
        if let status = plan.status { return error(status, model: model, requestID: plan.requestID) }
        return json(200, requestID: plan.requestID, remaining: plan.remaining, """
            {"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023,-0.0091,0.0154,0.0078]}],"model":\(JSONOutput.quoted(model)),"usage":{"prompt_tokens":5,"total_tokens":5}}
            """)
    }

    private func models(plan: Plan) -> Reply {
        if let status = plan.status { return error(status, model: "", requestID: plan.requestID) }
        let ids = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "text-embedding-3-small"]
        let data = ids.map { "{\"id\":\"\($0)\",\"object\":\"model\",\"owned_by\":\"errwatch-mock\"}" }.joined(separator: ",")
        return json(200, requestID: plan.requestID, remaining: plan.remaining, "{\"object\":\"list\",\"data\":[\(data)]}")
    }

    // MARK: Outcomes

    struct Plan {
        var status: Int?
        var streamError: Bool
        var cut: Bool
        var requestID: String
        var remaining: Int
        /// How long to wait before answering.
        var latencyMs: Int64
        /// A stream's pause before its first content.
        var firstTokenDelayMs: Int64 = 0
    }

    /// Draws the outcome of a request (or takes the one its headers force).
    func plan(header: (String) -> String?) -> Plan {
        let (draw, streamDraw, latencyDraw, id, count) = state.draw()
        var status: Int?
        if header("authorization") == nil {
            status = 401
        } else if let text = header("x-mock-status"), let value = Int(text),
                  header("x-mock-status-share").flatMap(Share.parse).map({ Double(id >> 11) / Double(1 << 53) < $0 }) ?? true {
            status = value >= 400 ? value : nil
        } else {
            var cumulative = 0.0
            for (candidate, share) in configuration.mix {
                cumulative += share
                if draw < cumulative { status = candidate; break }
            }
        }
        let streamError = header("x-mock-stream-error")
        return Plan(
            status: status,
            streamError: streamError == "true" || (streamError == nil && streamDraw < configuration.streamErrorShare),
            cut: header("x-mock-cut") == "true",
            requestID: "req_" + String(id, radix: 16),
            remaining: max(0, 10_000 - count % 10_000),
            latencyMs: header("x-mock-latency-ms").flatMap { Int64($0) }
                ?? configuration.latencyMs.lowerBound + Int64(latencyDraw * Double(configuration.latencyMs.upperBound - configuration.latencyMs.lowerBound)),
            firstTokenDelayMs: header("x-mock-first-token-ms").flatMap { Int64($0) }.map { min(max($0, 0), 600_000) } ?? configuration.firstTokenDelayMs)
    }

    /// Counts a stream whose reader went away before its end.
    func countAbandoned() { state.countAbandoned() }

    /// The guide's error for `status`, with its unified body and headers.
    func error(_ status: Int, model: String, requestID: String) -> Reply {
        let (type, code, message): (String, String, String) = switch status {
        case 400: ("invalid_request_error", "invalid_parameter", "Invalid value for 'messages': expected an array.")
        case 401: ("authentication_error", "invalid_api_key", "Incorrect API key provided. You can find your API key in your account settings.")
        case 403: ("permission_error", "insufficient_permissions", "You do not have access to the model '\(model)'.")
        case 404: ("not_found_error", "model_not_found", "The model '\(model)' does not exist or you do not have access to it.")
        case 413: ("invalid_request_error", "request_too_large", "The request body is larger than \(ByteSize.format(Int64(configuration.maxBodyBytes))).")
        case 429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit reached for \(model.isEmpty ? "requests" : model): 500 requests per minute. Please try again in 1s.")
        case 500: ("internal_error", "internal_error", "The server had an error while processing your request.")
        case 502: ("upstream_error", "upstream_error", "The upstream provider for '\(model)' returned an invalid response.")
        case 503: ("service_unavailable", "service_unavailable", "The service is temporarily unavailable. Please retry later.")
        default: (ErrorType.forStatus(status).rawValue, "mock_error", "Mock error with status \(status).")
        }
        var headers = baseHeaders(requestID: requestID, remaining: status == 429 ? 0 : nil)
        headers.append(("content-type", "application/json"))
        if status == 429 {
            headers.removeAll { $0.0 == "x-ratelimit-reset-requests" }
            headers += [("retry-after", "1"), ("retry-after-ms", "1000"), ("x-ratelimit-reset-requests", "1s")]
        }
        let body = configuration.dialect.body(status: status, model: model, guide: (type, code, message), requestID: requestID)
        return Reply(status: status, headers: headers, body: body)
    }

    private func baseHeaders(requestID: String, remaining: Int?) -> [(String, String)] {
        var headers = [("x-request-id", requestID)]
        if let remaining {
            headers += [
                ("x-ratelimit-limit-requests", "10000"),
                ("x-ratelimit-remaining-requests", String(remaining)),
                ("x-ratelimit-reset-requests", "6m0s"),
                ("x-ratelimit-remaining-tokens", String(remaining * 100)),
                ("x-ratelimit-reset-tokens", "20ms"),
            ]
        }
        return headers
    }

    private func json(_ status: Int, requestID: String, remaining: Int, _ body: String) -> Reply {
        var headers = baseHeaders(requestID: requestID, remaining: remaining)
        headers.append(("content-type", "application/json"))
        return Reply(status: status, headers: headers, body: body)
    }
}

/// Answers a route the fake does not serve as a real API would: 404 in the unified body.
struct UnknownRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            let body = ErrorBody(code: "unknown_url", message: "Unknown request URL: \(request.method) \(request.uri.path).", type: .notFound).json
            return Response(status: .notFound, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
    }
}

/// The fake's shared random source and request count.
final class MockState: Sendable {
    private let random: Mutex<(SplitMix64, Int)>

    init(seed: UInt64) { random = Mutex((SplitMix64(seed: seed), 0)) }

    private let abandoned = Mutex(0)

    /// Streams that stopped because the reader went away before their end.
    var abandonedStreams: Int { abandoned.withLock { $0 } }

    func countAbandoned() { abandoned.withLock { $0 += 1 } }

    /// Three uniform draws, an id, and the number of this request.
    func draw() -> (Double, Double, Double, UInt64, Int) {
        random.withLock { state in
            state.1 += 1
            return (state.0.unit(), state.0.unit(), state.0.unit(), state.0.next(), state.1)
        }
    }
}
