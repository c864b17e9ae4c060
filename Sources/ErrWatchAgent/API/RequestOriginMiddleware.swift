import ErrWatchCore
import Foundation
import HTTPTypes
import Hummingbird

/// What errwatch's own endpoints accept from browsers and strangers. A web page the user
/// visits can send requests to 127.0.0.1, and with DNS rebinding read the answers; so:
///
/// - when the agent listens on loopback, the `Host` must name loopback (`localhost`,
///   `127.0.0.1`, `[::1]`, any port) or one of `allowed_hosts`: a rebound name is refused;
/// - a request whose `Origin` is another site's is refused (the dashboard's own are same-origin);
/// - a write to `/api/` must be JSON or NDJSON: a cross-site form or `text/plain` post, which
///   browsers send without asking, is refused.
///
/// The proxy at `/v1/` (and each upstream's prefix) is left alone: it forwards the app's own
/// request, with the app's own key.
struct RequestOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The upstreams, whose paths are the proxy's.
    var routes: [Upstream] = []
    /// Whether the agent listens on loopback only.
    let loopbackOnly: Bool
    /// Host names accepted besides loopback ones, lower-cased, without port.
    let allowedHosts: Set<String>
    /// The origin people reach the agent at (`external_url`), also accepted.
    let externalOrigin: String?

    static var writeTypes: Set<String> { ["application/json", "application/x-ndjson", "application/jsonl", "application/json-seq"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard AgentConfiguration.route(path, in: routes) == nil else { return try await next(request, context) }
        let host = request.head.authority.map(Self.hostName) ?? ""
        if loopbackOnly, !AgentConfiguration.isLoopbackName(host), !allowedHosts.contains(host) {
            throw APIError(status: .forbidden, type: .permission, code: "host_not_allowed",
                           message: "The Host '\(RecordedText.dimension(host))' is not this agent's: it listens on loopback and answers to localhost, 127.0.0.1 and [::1]; add other names to allowed_hosts.")
        }
        if let origin = request.headers[.origin], !isSameSite(origin, authority: request.head.authority ?? "") {
            throw APIError(status: .forbidden, type: .permission, code: "origin_not_allowed",
                           message: "Requests from the web page at '\(RecordedText.dimension(origin))' are refused; errwatch's API answers its own dashboard and programs, not other sites.")
        }
        if path.hasPrefix("/api/"), request.method != .get, request.method != .head, request.method != .options {
            let type = request.headers[.contentType].map { String($0.split(separator: ";").first ?? "").trimmingSpaces().lowercased() } ?? ""
            guard Self.writeTypes.contains(type) else {
                throw APIError(status: .unsupportedMediaType, type: .invalidRequest, code: "unsupported_media_type",
                               message: "A write to errwatch's API must be sent as application/json or application/x-ndjson, not '\(RecordedText.dimension(type.isEmpty ? "(none)" : type))'.")
            }
        }
        return try await next(request, context)
    }

    /// Whether `origin` (`scheme://host[:port]`) is the agent itself: the authority the request
    /// was sent to, the external URL, or an allowed host.
    private func isSameSite(_ origin: String, authority: String) -> Bool {
        let lowered = origin.lowercased()
        if let externalOrigin, lowered == externalOrigin { return true }
        guard let separator = lowered.range(of: "://") else { return false }
        let originAuthority = String(lowered[separator.upperBound...])
        if originAuthority == authority.lowercased() { return true }
        return allowedHosts.contains(Self.hostName(originAuthority))
    }

    /// The host of an authority, lower-cased, without its port (`[::1]:8787` → `::1`).
    static func hostName(_ authority: String) -> String {
        let lowered = authority.lowercased()
        if lowered.hasPrefix("["), let end = lowered.firstIndex(of: "]") {
            return String(lowered[lowered.index(after: lowered.startIndex)..<end])
        }
        if let colon = lowered.lastIndex(of: ":"), lowered.firstIndex(of: ":") == colon {
            return String(lowered[..<colon])
        }
        return lowered
    }
}
