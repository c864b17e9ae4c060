import ErrWatchCore
import ErrWatchStore
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import Synchronization

/// A fake OpenAI-compatible API for demos, tests and load tests: chat completions (JSON and
/// streamed), embeddings and models, failing with the provider guide's errors at the rates
/// it is told, each with its unified body and the headers a real API sends.
///
/// A request may force its outcome with headers, which tests use: `x-mock-status: 429`,
/// `x-mock-latency-ms: 250`, `x-mock-stream-error: true` (an error event mid-stream),
/// `x-mock-cut: true` (the connection drops mid-stream), `x-mock-fail-model: gpt-4o` (the forced
/// status applies only to that model), `x-mock-should-retry: false` (sent back as `x-should-retry`)
/// and `x-mock-retry-header: retry-after-ms=250` (a 429 carries only that retry header).
public struct MockUpstream: Sendable {
    /// How the fake behaves.
    public struct Configuration: Sendable {
        /// Error statuses and the share of requests that get each.
        public var mix: [(status: Int, share: Double)] = [(429, 0.05), (500, 0.01), (502, 0.02), (503, 0.01)]
        /// Latency before the response headers, in milliseconds, drawn uniformly.
        public var latencyMs: ClosedRange<Int64> = 0...0
        /// Share of streams that carry an error event instead of finishing.
        public var streamErrorShare = 0.0
        /// Chunks in a streamed completion, and the pause between them.
        public var streamChunks = 8
        public var chunkDelayMs: Int64 = 0
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
                let shareText = pieces.count == 2 ? String(pieces[1].trimmingSpaces()) : ""
                let share = shareText.hasSuffix("%") ? Double(shareText.dropLast()).map { $0 / 100 } : Double(shareText)
                guard pieces.count == 2, let status = Int(pieces[0].trimmingSpaces()), (400...599).contains(status),
                      let share, share >= 0, share <= 1
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

    /// The fake API's routes.
    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: UnknownRouteMiddleware())
        router.post("/v1/chat/completions") { request, _ in try await chat(request) }
        router.post("/v1/embeddings") { request, _ in try await embeddings(request) }
        router.get("/v1/models") { request, _ in try await models(request) }
        return router
    }

    /// The HTTP application; `onServerRunning` learns the bound port.
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        makeApplication(router: buildRouter(), host: configuration.host, port: configuration.port, name: "mock-upstream",
                        logger: logger, onServerRunning: onServerRunning)
    }

    // MARK: Routes

    private func chat(_ request: Request) async throws -> Response {
        let (body, plan) = try await prepare(request)
        let fields = RequestFields(prefix: body.readableBytesView)
        let model = fields.model.isEmpty ? "gpt-4o" : fields.model
        let failing = request.headers[HTTPField.Name("x-mock-fail-model")!].map { $0 == fields.model } ?? true
        if let status = plan.status, failing || status == 401 {
            var response = error(status, model: model, requestID: plan.requestID)
            if let advice = request.headers[HTTPField.Name("x-mock-should-retry")!] {
                response.headers[HTTPField.Name("x-should-retry")!] = advice
            }
            if let only = request.headers[HTTPField.Name("x-mock-retry-header")!], let equals = only.firstIndex(of: "="),
               let name = HTTPField.Name(String(only[..<equals])) {
                for header in ["retry-after", "retry-after-ms", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"] {
                    response.headers[HTTPField.Name(header)!] = nil
                }
                response.headers[name] = String(only[only.index(after: equals)...])
            }
            return response
        }
        let created = Int(Date().timeIntervalSince1970)
        let id = "chatcmpl-\(plan.requestID.dropFirst(4))"
        guard fields.stream else {
            return json(.ok, requestID: plan.requestID, remaining: plan.remaining, """
                {"id":"\(id)","object":"chat.completion","created":\(created),"model":\(JSONText.quote(model)),"choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the errwatch mock upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}
                """)
        }
        let chunks = configuration.streamChunks
        let delay = configuration.chunkDelayMs
        let streamError = plan.streamError
        let cut = plan.cut
        var headers = baseHeaders(requestID: plan.requestID, remaining: plan.remaining)
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let state = state
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            // A stream whose reader went away ends here, counted, instead of running to its end.
            var writer = AbandonCounting(writer: writer, state: state)
            for index in 0..<chunks {
                if index > 0, delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
                if index == chunks / 2 {
                    if streamError {
                        try await writer.write(ByteBuffer(string: "data: {\"error\":{\"code\":\"upstream_error\",\"message\":\"The upstream model failed mid-stream.\",\"type\":\"upstream_error\"}}\n\n"))
                        try await writer.finish(nil)
                        return
                    }
                    if cut { throw CutStream() }
                }
                try await writer.write(ByteBuffer(string: """
                    data: {"id":"\(id)","object":"chat.completion.chunk","created":\(created),"model":\(JSONText.quote(model)),"choices":[{"index":0,"delta":{"content":"token\(index) "},"finish_reason":null}]}


                    """))
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        })
    }

    private func embeddings(_ request: Request) async throws -> Response {
        let (body, plan) = try await prepare(request)
        let fields = RequestFields(prefix: body.readableBytesView)
        let model = fields.model.isEmpty ? "text-embedding-3-small" : fields.model
        if let status = plan.status { return error(status, model: model, requestID: plan.requestID) }
        return json(.ok, requestID: plan.requestID, remaining: plan.remaining, """
            {"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023,-0.0091,0.0154,0.0078]}],"model":\(JSONText.quote(model)),"usage":{"prompt_tokens":5,"total_tokens":5}}
            """)
    }

    private func models(_ request: Request) async throws -> Response {
        let (_, plan) = try await prepare(request)
        if let status = plan.status { return error(status, model: "", requestID: plan.requestID) }
        let ids = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "text-embedding-3-small"]
        let data = ids.map { "{\"id\":\"\($0)\",\"object\":\"model\",\"owned_by\":\"errwatch-mock\"}" }.joined(separator: ",")
        return json(.ok, requestID: plan.requestID, remaining: plan.remaining, "{\"object\":\"list\",\"data\":[\(data)]}")
    }

    // MARK: Outcomes

    private struct Plan {
        var status: Int?
        var streamError: Bool
        var cut: Bool
        var requestID: String
        var remaining: Int
    }

    private struct CutStream: Error {}

    /// Reads the body, draws the outcome (or takes the forced one), and waits the latency.
    private func prepare(_ request: Request) async throws -> (ByteBuffer, Plan) {
        let body = try await request.body.collect(upTo: 32 << 20)
        let forced = { (name: String) in request.headers[HTTPField.Name(name)!] }
        let (draw, streamDraw, latencyDraw, id, count) = state.draw()
        var status: Int?
        if request.headers[.authorization] == nil {
            status = 401
        } else if let text = forced("x-mock-status"), let value = Int(text) {
            status = value >= 400 ? value : nil
        } else {
            var cumulative = 0.0
            for (candidate, share) in configuration.mix {
                cumulative += share
                if draw < cumulative { status = candidate; break }
            }
        }
        let latency = forced("x-mock-latency-ms").flatMap { Int64($0) }
            ?? configuration.latencyMs.lowerBound + Int64(latencyDraw * Double(configuration.latencyMs.upperBound - configuration.latencyMs.lowerBound))
        if latency > 0 { try await Task.sleep(for: .milliseconds(latency)) }
        let plan = Plan(
            status: status,
            streamError: forced("x-mock-stream-error") == "true" || (forced("x-mock-stream-error") == nil && streamDraw < configuration.streamErrorShare),
            cut: forced("x-mock-cut") == "true",
            requestID: "req_" + String(id, radix: 16),
            remaining: max(0, 10_000 - count % 10_000))
        return (body, plan)
    }

    /// The guide's error for `status`, with its unified body and headers.
    private func error(_ status: Int, model: String, requestID: String) -> Response {
        let (type, code, message): (String, String, String) = switch status {
        case 400: ("invalid_request_error", "invalid_parameter", "Invalid value for 'messages': expected an array.")
        case 401: ("authentication_error", "invalid_api_key", "Incorrect API key provided. You can find your API key in your account settings.")
        case 403: ("permission_error", "insufficient_permissions", "You do not have access to the model '\(model)'.")
        case 404: ("not_found_error", "model_not_found", "The model '\(model)' does not exist or you do not have access to it.")
        case 429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit reached for \(model.isEmpty ? "requests" : model): 500 requests per minute. Please try again in 1s.")
        case 500: ("internal_error", "internal_error", "The server had an error while processing your request.")
        case 502: ("upstream_error", "upstream_error", "The upstream provider for '\(model)' returned an invalid response.")
        case 503: ("service_unavailable", "service_unavailable", "The service is temporarily unavailable. Please retry later.")
        default: (ErrorType.forStatus(status).rawValue, "mock_error", "Mock error with status \(status).")
        }
        var headers = baseHeaders(requestID: requestID, remaining: status == 429 ? 0 : nil)
        headers[.contentType] = "application/json"
        if status == 429 {
            headers[.retryAfter] = "1"
            headers[HTTPField.Name("retry-after-ms")!] = "1000"
            headers[HTTPField.Name("x-ratelimit-reset-requests")!] = "1s"
        }
        let body = "{\"error\":{\"code\":\(JSONText.quote(code)),\"message\":\(JSONText.quote(message)),\"type\":\(JSONText.quote(type))}}"
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    private func baseHeaders(requestID: String, remaining: Int?) -> HTTPFields {
        var headers: HTTPFields = [HTTPField.Name("x-request-id")!: requestID]
        if let remaining {
            headers[HTTPField.Name("x-ratelimit-limit-requests")!] = "10000"
            headers[HTTPField.Name("x-ratelimit-remaining-requests")!] = String(remaining)
            headers[HTTPField.Name("x-ratelimit-reset-requests")!] = "6m0s"
            headers[HTTPField.Name("x-ratelimit-remaining-tokens")!] = String(remaining * 100)
            headers[HTTPField.Name("x-ratelimit-reset-tokens")!] = "20ms"
        }
        return headers
    }

    private func json(_ status: HTTPResponse.Status, requestID: String, remaining: Int, _ body: String) -> Response {
        var headers = baseHeaders(requestID: requestID, remaining: remaining)
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Answers a route the fake does not serve as a real API would: 404 in the unified body.
struct UnknownRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            let body = "{\"error\":{\"code\":\"unknown_url\",\"message\":\(JSONText.quote("Unknown request URL: \(request.method) \(request.uri.path).")),\"type\":\"not_found_error\"}}"
            return Response(status: .notFound, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
    }
}

/// A response writer that counts a failed write (the reader is gone) as an abandoned stream.
struct AbandonCounting {
    var writer: any ResponseBodyWriter
    let state: MockState

    mutating func write(_ buffer: ByteBuffer) async throws {
        do {
            try await writer.write(buffer)
        } catch {
            state.countAbandoned()
            throw error
        }
    }

    mutating func finish(_ trailers: HTTPFields?) async throws {
        try await writer.finish(trailers)
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
