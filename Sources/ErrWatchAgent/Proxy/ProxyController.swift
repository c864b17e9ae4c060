import AsyncHTTPClient
import ErrWatchCore
import ErrWatchStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The recording proxy: every request under `/v1/` goes to the upstream with the same path
/// remainder, query, method, headers and body, and comes back as the upstream sent it; each
/// one becomes one ``CallOutcome`` handed to the batch writer, which never delays it.
///
/// Bodies stream both ways. Only what classification needs is kept: the first 64 KiB of a
/// request (for `model` and `stream`) and of an error response, and one line at a time of an
/// event stream. Exactly one upstream request is made per client request; nothing is retried.
struct ProxyController<Context: RequestContext>: Sendable {
    let client: HTTPClient
    let configuration: AgentConfiguration
    let sink: OutcomeSink
    let rateLimits: RateLimitTracker
    let now: @Sendable () -> Int64
    let logger: Logger
    /// The upstreams, the default first (``AgentConfiguration/routes``), built once.
    let routes: [Upstream]

    init(client: HTTPClient, configuration: AgentConfiguration, sink: OutcomeSink, rateLimits: RateLimitTracker,
         now: @escaping @Sendable () -> Int64, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.sink = sink
        self.rateLimits = rateLimits
        self.now = now
        self.logger = logger
        routes = configuration.routes
    }

    func addRoutes(to router: Router<Context>) {
        for prefix in routes.map(\.prefix) {
            for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch, .head, .options] {
                router.on(RouterPath(prefix + "/v1/**"), method: method) { request, context in try await proxy(request, context: context) }
            }
        }
    }

    func proxy(_ request: Request, context: Context) async throws -> Response {
        let started = NIODeadline.now()
        let startedAt = now()
        let full = request.uri.path
        // Only paths under an upstream's prefix and /v1/ are routed here.
        let (route, prefixLength) = AgentConfiguration.route(full, in: routes) ?? (0, 0)
        let path = String(full.dropFirst(prefixLength))
        // A `..` segment would climb out of the upstream's /v1: refused, and not recorded,
        // since it is no API call.
        if let reason = ProxyHeaders.unsafePathReason(path) {
            throw APIError.invalidRequest("invalid_path", "The path \(RecordedText.dimension(full)) is not forwarded: \(reason); send the API path in its plain form.")
        }
        let remainder = path.dropFirst(3)  // "/v1"
        let url = routes[route].url + remainder + (request.uri.query.map { "?" + $0 } ?? "")
        var call = CallInfo(startedAt: startedAt, appHeader: request.headers[ProxyHeaders.app],
                            retryHeader: request.headers[ProxyHeaders.retryCount], endpoint: Endpoint.normalize(path),
                            route: route, routes: routes, configuration: configuration)
        call.started = started

        var upstream = HTTPClientRequest(url: url)
        upstream.method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
        let named = ProxyHeaders.connectionOptions(request.headers[values: .connection])
        for field in request.headers {
            let name = field.name.canonicalName
            if ProxyHeaders.dropsFromRequest(name) || named.contains(name) { continue }
            upstream.headers.add(name: field.name.rawName, value: field.value)
        }

        let declaredLength = request.headers[.contentLength].flatMap { Int64($0) }
        if let declaredLength, declaredLength > configuration.maxRequestBody {
            throw record(call, rejecting: tooLarge())
        }
        let capture = BodyPrefix(limit: ProxyHeaders.inspectBytes, maxTotal: configuration.maxRequestBody)
        var timeout = configuration.timeoutMs
        if let declaredLength, declaredLength <= Int64(ProxyHeaders.inspectBytes) {
            // Small bodies (nearly every API call) are read first, so the model and the stream
            // flag are known before the request leaves.
            let buffer: ByteBuffer
            do {
                buffer = try await request.body.collect(upTo: Int(declaredLength) + 1)
            } catch {
                throw record(call, rejecting: tooLarge())
            }
            call.fields = RequestFields(prefix: buffer.readableBytesView)
            if call.fields.stream { timeout = configuration.streamTimeoutMs }
            upstream.body = .bytes(buffer)
        } else if request.method == .get || request.method == .head || request.method == .delete, declaredLength == nil {
            upstream.body = nil
        } else {
            // Larger bodies stream through; their first bytes are kept to read the model afterwards.
            timeout = configuration.streamTimeoutMs
            let body = request.body.map { chunk throws -> ByteBuffer in
                try capture.add(chunk)
                return chunk
            }
            upstream.body = .stream(body, length: declaredLength.map { .known($0) } ?? .unknown)
        }

        var proxied = ProxyCall(call: call, timeoutMs: timeout, configuration: configuration)
        sink.begin(&proxied)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(upstream, deadline: .now() + .milliseconds(timeout), logger: logger)
        } catch {
            if proxied.info.fields.model.isEmpty { proxied.learned(capture.fields) }
            if capture.exceeded {
                sink.end(proxied)
                throw record(proxied.info, rejecting: tooLarge())
            }
            guard case .answer(let answer, let outcome)? = proxied.upstreamFailed(error, timedOut: Self.isTimeout(error), at: .now()) else {
                sink.end(proxied)
                throw error
            }
            sink.record(outcome, of: proxied)
            throw answer
        }
        if proxied.info.fields.model.isEmpty { proxied.learned(capture.fields) }
        return forward(response, call: proxied)
    }

    /// Whether the client library gave up waiting for the upstream.
    private static func isTimeout(_ error: any Error) -> Bool {
        switch error as? HTTPClientError {
        case .deadlineExceeded?, .readTimeout?, .connectTimeout?: true
        default: false
        }
    }

    /// The client's response: the upstream's status, headers and body, recorded as it ends.
    private func forward(_ response: HTTPClientResponse, call: ProxyCall) -> Response {
        var call = call
        let head = call.responseHead(HTTPResponseHead(version: response.version, status: response.status, headers: response.headers), at: .now())
        var fields = HTTPFields()
        fields.reserveCapacity(head.headers.count)
        for (rawName, value) in head.headers {
            if let name = HTTPField.Name(rawName) { fields.append(HTTPField(name: name, value: value)) }
        }
        rateLimits.observe(head.recorded, model: call.info.fields.model, at: call.info.startedAt)
        return Response(status: .init(code: Int(head.status.code)), headers: fields, body: ResponseBody(contentLength: head.contentLength) { [call] writer in
            var call = call
            var clientGone = false
            do {
                for try await chunk in response.body {
                    call.responseBody(chunk, at: .now())
                    do {
                        try await writer.write(chunk)
                    } catch {
                        clientGone = true
                        throw error
                    }
                }
                // Recorded before the app sees the end, as on the fast path.
                if let outcome = call.responseEnd(at: .now()) { sink.record(outcome, of: call) }
                try await writer.finish(nil)
            } catch {
                if clientGone {
                    if let outcome = call.clientClosed(at: .now()) { sink.record(outcome, of: call) }
                } else if case .cut(let outcome)? = call.upstreamFailed(error, at: .now()) {
                    sink.record(outcome, of: call)
                }
                throw error
            }
        })
    }

    private func tooLarge() -> APIError {
        APIError(status: .contentTooLarge, type: .requestTooLarge, code: "request_body_too_large",
                 message: "The request body is larger than the proxy's limit of \(ByteSize.format(configuration.maxRequestBody)); raise max_request_body to forward it.")
    }

    /// Records a request the proxy answered itself, and returns the error to answer with.
    private func record(_ call: CallInfo, rejecting error: APIError) -> APIError {
        sink.record(call.outcome(status: Int(error.status.code), error: CallError(type: error.type, code: error.code, message: error.message, retryable: false),
                                 requestID: nil, streamed: false, timeToHeaders: nil, at: .now()))
        return error
    }
}
