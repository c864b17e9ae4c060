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

    static var hopByHop: Set<String> { ProxyHeaders.hopByHop }

    func addRoutes(to router: Router<Context>) {
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch, .head, .options] {
            router.on("/v1/**", method: method) { request, context in try await proxy(request, context: context) }
        }
    }

    func proxy(_ request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        let startedAt = now()
        let path = request.uri.path
        // A `..` segment would climb out of the upstream's /v1: refused, and not recorded,
        // since it is no API call.
        if let reason = ProxyHeaders.unsafePathReason(request.uri.path) {
            throw APIError.invalidRequest("invalid_path", "The path \(RecordedText.dimension(path)) is not forwarded: \(reason); send the API path in its plain form.")
        }
        let remainder = path.dropFirst(3)  // "/v1"
        let url = configuration.upstream + remainder + (request.uri.query.map { "?" + $0 } ?? "")
        var call = CallInfo(startedAt: startedAt, appHeader: request.headers[ProxyHeaders.app],
                            retryHeader: request.headers[ProxyHeaders.retryCount], endpoint: Endpoint.normalize(path),
                            configuration: configuration)
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

        let response: HTTPClientResponse
        do {
            response = try await client.execute(upstream, deadline: .now() + .milliseconds(timeout), logger: logger)
        } catch {
            call.fields = call.fields.model.isEmpty ? capture.fields : call.fields
            if capture.exceeded { throw record(call, rejecting: tooLarge()) }
            throw record(call, failure: error, timeout: timeout)
        }
        if call.fields.model.isEmpty { call.fields = capture.fields }
        return forward(response, call: call)
    }

    /// The client's response: the upstream's status, headers and body, recorded as it ends.
    private func forward(_ response: HTTPClientResponse, call: CallInfo) -> Response {
        let status = Int(response.status.code)
        let timeToHeaders = call.started.duration(to: .now)
        var fields = HTTPFields()
        var inspected: [(String, String)] = []
        let named = ProxyHeaders.connectionOptions(response.headers["connection"])
        for header in response.headers {
            let lowered = header.name.lowercased()
            if ProxyHeaders.isRecorded(lowered, isError: status >= 400) { inspected.append((lowered, header.value)) }
            guard !Self.hopByHop.contains(lowered), !named.contains(lowered), let name = HTTPField.Name(header.name) else { continue }
            fields.append(HTTPField(name: name, value: header.value))
        }
        let headers = ErrWatchCore.HTTPHeaders(inspected)
        rateLimits.observe(headers, model: call.fields.model, at: call.startedAt)
        let length = response.headers.first(name: "content-length").flatMap { Int($0) }
        let isStream = ProxyHeaders.isEventStream(headers)
        let requestID = ProxyHeaders.requestID(headers)

        return Response(status: .init(code: status), headers: fields, body: ResponseBody(contentLength: length) { writer in
            var inspector = ResponseInspector(status: status, isStream: isStream, now: call.startedAt)
            var clientGone = false
            do {
                for try await chunk in response.body {
                    inspector.feed(chunk)
                    do {
                        try await writer.write(chunk)
                    } catch {
                        clientGone = true
                        throw error
                    }
                }
                try await writer.finish(nil)
            } catch {
                let cut = clientGone ? ProxyHeaders.clientClosed : ProxyHeaders.streamInterrupted(ProxyHeaders.failureReason(error))
                submit(call, status: clientGone ? 499 : status, error: inspector.error(headers: headers) ?? cut,
                       requestID: requestID, streamed: isStream, timeToHeaders: timeToHeaders)
                throw error
            }
            submit(call, status: status, error: inspector.error(headers: headers), requestID: requestID, streamed: isStream, timeToHeaders: timeToHeaders)
        })
    }

    private func tooLarge() -> APIError {
        APIError(status: .contentTooLarge, type: .requestTooLarge, code: "request_body_too_large",
                 message: "The request body is larger than the proxy's limit of \(ByteSize.format(configuration.maxRequestBody)); raise max_request_body to forward it.")
    }

    /// Records a request the proxy answered itself, and returns the error to answer with.
    private func record(_ call: CallInfo, rejecting error: APIError) -> APIError {
        submit(call, status: Int(error.status.code), error: CallError(type: error.type, code: error.code, message: error.message, retryable: false),
               requestID: nil, streamed: false, timeToHeaders: nil)
        return error
    }

    /// Records an upstream that could not be reached or did not answer in time, and returns the
    /// error the client gets: 504 for a timeout, 502 otherwise.
    private func record(_ call: CallInfo, failure: any Error, timeout: Int64) -> APIError {
        let isTimeout: Bool
        switch failure as? HTTPClientError {
        case .deadlineExceeded?, .readTimeout?, .connectTimeout?: isTimeout = true
        default: isTimeout = false
        }
        let (answer, recorded) = ProxyHeaders.upstreamFailure(
            timeoutMs: isTimeout ? timeout : nil, upstream: configuration.upstream, failure: failure)
        submit(call, status: nil, error: recorded, requestID: nil, streamed: false, timeToHeaders: nil)
        return answer
    }

    private func submit(_ call: CallInfo, status: Int?, error: CallError?, requestID: String?, streamed: Bool, timeToHeaders: Duration?) {
        sink.record(call.outcome(status: status, error: error, requestID: requestID, streamed: streamed, timeToHeaders: timeToHeaders))
    }
}
