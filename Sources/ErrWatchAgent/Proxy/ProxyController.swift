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
        var call = CallInfo(
            startedAt: startedAt, started: started,
            app: request.headers[ProxyHeaders.app] ?? configuration.app,
            endpoint: Endpoint.normalize(path),
            attempt: request.headers[ProxyHeaders.retryCount].flatMap { Int($0) }.map { max(0, min($0, 10_000)) } ?? 0)

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
            inspected.append((header.name, header.value))
            let lowered = header.name.lowercased()
            guard !Self.hopByHop.contains(lowered), !named.contains(lowered), let name = HTTPField.Name(header.name) else { continue }
            fields.append(HTTPField(name: name, value: header.value))
        }
        let headers = ErrWatchCore.HTTPHeaders(inspected)
        rateLimits.observe(headers, model: call.fields.model, at: call.startedAt)
        let length = response.headers.first(name: "content-length").flatMap { Int($0) }
        let isStream = (headers["content-type"] ?? "").lowercased().hasPrefix("text/event-stream")
        let requestID = headers["x-request-id"] ?? headers["request-id"]

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
                let cut: CallError = clientGone
                    ? CallError(type: .connection, code: "client_closed_request", message: "The client closed the connection before the response ended.", retryable: false)
                    : CallError(type: .upstream, code: "stream_interrupted", message: "The upstream connection broke before the response ended: \(ProxyHeaders.failureReason(error)).", retryable: true)
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

enum ProxyHeaders {
    /// Headers that belong to one connection, not to the request (RFC 9110 §7.6.1), plus those
    /// the proxy sets itself.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "content-length",
    ]
    /// The app a call comes from, when the app says (stripped before forwarding).
    static let app = HTTPField.Name("x-errwatch-app")!
    /// The attempt number the OpenAI SDKs send.
    static let retryCount = HTTPField.Name("x-stainless-retry-count")!
    /// How much of a body is kept for inspection.
    static let inspectBytes = 64 * 1024

    /// The headers a `Connection` header names (RFC 9110 §7.6.1): they belong to this one
    /// connection and are not forwarded either way. Lower-cased; empty for the usual
    /// `keep-alive` or `close`, which are hop-by-hop anyway.
    static func connectionOptions(_ values: some Sequence<String>) -> Set<String> {
        var named: Set<String> = []
        for value in values {
            // Nearly every request says only keep-alive or close: nothing to name, nothing to split.
            if value.utf8.count <= 10, ["keep-alive", "close"].contains(value.lowercased()) { continue }
            for token in value.split(separator: ",") {
                let name = token.trimmingCharacters(in: .whitespaces).lowercased()
                if !name.isEmpty, name != "close", name != "keep-alive" { named.insert(name) }
            }
        }
        return named
    }

    /// Whether a request header stays behind: hop-by-hop ones, `accept-encoding` (compressed
    /// responses could not be classified; the app gets identity bodies instead) and errwatch's own.
    static func dropsFromRequest(_ lowercasedName: String) -> Bool {
        hopByHop.contains(lowercasedName) || lowercasedName == "accept-encoding" || lowercasedName == "x-errwatch-app"
    }

    /// What went wrong reaching the upstream, in a few words a person reads (not the
    /// networking library's own description, which names its internal types).
    static func failureReason(_ error: (any Error)?) -> String {
        guard let error else { return "the connection failed" }
        if let connection = error as? NIOConnectionError {
            if connection.dnsAError != nil || connection.dnsAAAAError != nil, connection.connectionErrors.isEmpty {
                return "its host name did not resolve"
            }
            return connection.connectionErrors.first.map { failureReason($0.error) } ?? "the connection failed"
        }
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "the connection was refused"
            case ECONNRESET, EPIPE: return "the connection was reset"
            case ETIMEDOUT: return "the connection timed out"
            case EHOSTUNREACH, ENETUNREACH: return "its address is unreachable"
            default: return "the connection failed (\(String(cString: strerror(io.errnoCode)).lowercased()))"
            }
        }
        if let channel = error as? ChannelError {
            switch channel {
            case .connectTimeout: return "the connection timed out"
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed: return "the connection closed before a response"
            default: return "the connection failed"
            }
        }
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout: return "the connection timed out"
            case .remoteConnectionClosed: return "the connection closed before a response"
            case .readTimeout: return "it sent nothing for too long"
            case .tlsHandshakeTimeout: return "the TLS handshake timed out"
            default: return "the request failed"
            }
        }
        if let reason = tlsFailureReason(error) { return reason }
        return "the connection failed"
    }

    /// Why TLS with the upstream failed, in words, when `error` is a TLS error.
    static func tlsFailureReason(_ error: any Error) -> String? {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "its TLS certificate is for another host name"
        }
        if let ssl = error as? NIOSSLError {
            switch ssl {
            case .handshakeFailed(let failure):
                let detail = String(describing: failure)
                if detail.contains("CERTIFICATE_VERIFY_FAILED") {
                    return "its TLS certificate is not trusted (it does not chain to a CA in the system's trust store or in tls_ca_file, or it has expired)"
                }
                if detail.contains("WRONG_VERSION_NUMBER") || detail.contains("PACKET_LENGTH_TOO_LONG") || detail.contains("HTTP_REQUEST") {
                    return "it did not answer in TLS (is it plain HTTP on that port?)"
                }
                if detail.contains("PROTOCOL_VERSION") || detail.contains("UNSUPPORTED_PROTOCOL") {
                    return "it offers no TLS version errwatch accepts (1.2 or later)"
                }
                return "the TLS handshake failed (\(detail.prefix(160)))"
            case .uncleanShutdown:
                return "the connection closed during TLS"
            default:
                return "TLS failed (\(ssl))"
            }
        }
        if error is BoringSSLError { return "the TLS handshake failed (\(String(describing: error).prefix(160)))" }
        return nil
    }

    /// What the client gets and what is recorded when the upstream did not answer: 504 after
    /// `timeoutMs` without response headers, else 502 (it could not be reached).
    /// A failed TLS handshake or an untrusted certificate is `upstream_tls_failed`; any other
    /// failure to connect is `upstream_connect_failed`. Both are recorded as connection errors.
    static func upstreamFailure(timeoutMs: Int64?, upstream: String, failure: (any Error)?) -> (answer: APIError, recorded: CallError) {
        if let timeoutMs {
            let answer = APIError(status: .gatewayTimeout, type: .timeout, code: "upstream_timeout",
                                  message: "The upstream sent no response within \(DurationText.format(timeoutMs)).")
            return (answer, Classifier.timeout(code: "upstream_timeout", message: answer.message))
        }
        let tls = failure.flatMap(tlsFailureReason)
        let code = tls == nil ? "upstream_connect_failed" : "upstream_tls_failed"
        let answer = APIError(status: .badGateway, type: .upstream, code: code,
                              message: "Could not reach the upstream at \(AgentConfiguration.shown(upstream)): \(tls ?? failureReason(failure)).")
        return (answer, Classifier.connectionFailure(code: code, message: answer.message))
    }

    /// Why `path` cannot be forwarded as it is, or nil when it can: it must start with `/v1/`
    /// and have no `.` or `..` segment, no empty segment (`//`), no backslash and no encoded
    /// slash or backslash, plainly or percent-encoded any number of times (`%2e`, `%252e`). Each
    /// of those is read differently by different servers, which is how a path climbs out of
    /// the upstream's `/v1` (`//v1/models` once reached it as `/v11/models`).
    static func unsafePathReason(_ path: String) -> String? {
        guard path.hasPrefix("/v1/") else { return "it does not start with /v1/" }
        // Nearly every path has none of these bytes: answer that without copying it.
        let suspicious = path.utf8.contains {
            $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "\\")
        } || path.contains("//")
        guard suspicious else { return nil }
        var decoded = path.lowercased()
        for _ in 0..<4 where decoded.contains("%25") { decoded = decoded.replacingOccurrences(of: "%25", with: "%") }
        if decoded.contains("\\") || decoded.contains("%5c") { return "it has a backslash" }
        if decoded.contains("%2f") { return "it has an encoded slash" }
        let segments = decoded.replacingOccurrences(of: "%2e", with: ".").split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if segments.dropLast().contains(where: \.isEmpty) { return "it has an empty segment (//)" }
        if segments.contains(where: { $0 == "." || $0 == ".." }) { return "it has a '.' or '..' segment" }
        return nil
    }
}

/// What the proxy knows about a call before the response.
struct CallInfo: Sendable {
    var startedAt: Int64
    var started: ContinuousClock.Instant
    var app: String
    var endpoint: String
    var attempt: Int
    var fields = RequestFields(prefix: [UInt8]())

    /// The outcome of this call, ending now.
    func outcome(status: Int?, error: CallError?, requestID: String?, streamed: Bool, timeToHeaders: Duration?) -> CallOutcome {
        CallOutcome(
            timestamp: startedAt, app: app, endpoint: endpoint, model: fields.model, status: status,
            error: error, attempt: attempt, latencyMs: started.duration(to: .now).wholeMilliseconds,
            timeToHeadersMs: timeToHeaders?.wholeMilliseconds,
            requestID: requestID, streamed: streamed)
    }
}

/// Keeps the first bytes of a streamed request body and enforces the body limit.
final class BodyPrefix: Sendable {
    private struct State { var bytes: [UInt8] = []; var total: Int64 = 0; var exceeded = false }
    private let state = Mutex(State())
    private let limit: Int
    private let maxTotal: Int64

    struct TooLarge: Error {}

    init(limit: Int, maxTotal: Int64) {
        self.limit = limit
        self.maxTotal = maxTotal
    }

    func add(_ chunk: ByteBuffer) throws {
        try state.withLock { state in
            state.total += Int64(chunk.readableBytes)
            if state.total > maxTotal {
                state.exceeded = true
                throw TooLarge()
            }
            if state.bytes.count < limit {
                state.bytes += chunk.readableBytesView.prefix(limit - state.bytes.count)
            }
        }
    }

    var exceeded: Bool { state.withLock { $0.exceeded } }
    var fields: RequestFields { RequestFields(prefix: state.withLock { $0.bytes }) }
}

/// Watches a response body pass: keeps the start of an error body, scans an event stream.
struct ResponseInspector {
    let status: Int
    let isStream: Bool
    let now: Int64
    private var prefix: [UInt8] = []
    private var scanner: StreamScanner

    init(status: Int, isStream: Bool, now: Int64) {
        self.status = status
        self.isStream = isStream
        self.now = now
        scanner = StreamScanner(now: now)
    }

    mutating func feed(_ chunk: ByteBuffer) {
        if status >= 400, prefix.count < Classifier.maxBodyBytes {
            prefix += chunk.readableBytesView.prefix(Classifier.maxBodyBytes - prefix.count)
        } else if isStream {
            chunk.withUnsafeReadableBytes { scanner.feed($0) }
        }
    }

    /// The error the response carried: by its status and body, or inside its stream.
    func error(headers: ErrWatchCore.HTTPHeaders) -> CallError? {
        if status >= 400 { return Classifier.classify(status: status, headers: headers, body: prefix, now: now) }
        return scanner.error
    }
}
