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

/// The proxy's rules for headers, paths and failures, shared by the fast path and the router's proxy.
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
    /// Whether a response header is kept for the recording: every header of an error (the
    /// classifier reads retry headers), else the rate-limit, request-id and content-type ones.
    static func isRecorded(_ lowercasedName: String, isError: Bool) -> Bool {
        isError || lowercasedName.hasPrefix("x-ratelimit-") || lowercasedName == "content-type"
            || lowercasedName == "x-request-id" || lowercasedName == "request-id"
    }

    /// Whether a response is a server-sent event stream, by its recorded headers.
    static func isEventStream(_ headers: ErrWatchCore.HTTPHeaders) -> Bool {
        (headers["content-type"] ?? "").lowercased().hasPrefix("text/event-stream")
    }

    /// The upstream's id for the request, by its recorded headers.
    static func requestID(_ headers: ErrWatchCore.HTTPHeaders) -> String? {
        headers["x-request-id"] ?? headers["request-id"]
    }

    /// What is recorded when the app hangs up before the response ended (status 499).
    static let clientClosed = CallError(type: .connection, code: "client_closed_request",
                                        message: "The client closed the connection before the response ended.", retryable: false)

    /// What is recorded when the upstream's connection broke mid-response, and why.
    static func streamInterrupted(_ reason: String) -> CallError {
        CallError(type: .upstream, code: "stream_interrupted",
                  message: "The upstream connection broke before the response ended: \(reason).", retryable: true)
    }

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
        // Nearly every path has none of these bytes: answer that without copying it (and
        // without Foundation's string search, which costed a percent of the proxy's CPU).
        var previous: UInt8 = 0
        let suspicious = path.utf8.contains { byte in
            defer { previous = byte }
            return byte == UInt8(ascii: ".") || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "\\")
                || (byte == UInt8(ascii: "/") && previous == UInt8(ascii: "/"))
        }
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
