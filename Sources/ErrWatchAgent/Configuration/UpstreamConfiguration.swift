import ErrWatchCore
import Foundation
import Yams

/// One upstream the agent forwards to: the default one (`upstream`, for paths under `/v1/`) or
/// one of the file's `upstreams` list (for paths under its prefix, `/anthropic/v1/…`). Every
/// call records the upstream's name and provider.
public struct Upstream: Sendable, Hashable {
    /// The name calls are recorded under (`default` for the default upstream).
    public var name: String
    /// The base URL the path after `/v1` is appended to.
    public var url: String
    /// The provider recorded for its calls.
    public var provider: String
    /// What apps put before `/v1/` to reach it: empty for the default upstream, else a path
    /// such as `/anthropic`.
    public var prefix: String

    /// The name of the upstream that `upstream` and paths under `/v1/` reach.
    public static let defaultName = "default"

    public init(name: String, url: String, provider: String, prefix: String) {
        self.name = name
        self.url = url
        self.provider = provider
        self.prefix = prefix
    }

    static let keys = ["name", "url", "provider", "prefix"]

    /// Prefixes an upstream may not take: the agent's own routes.
    static let reservedPrefixes = ["/v1", "/api", "/metrics", "/healthz", "/readyz", "/dashboard"]
}

extension AgentConfiguration {
    /// Every upstream, the default first: a request goes to the first whose prefix (followed by
    /// `/v1/`) its path starts with.
    public var routes: [Upstream] {
        [Upstream(name: Upstream.defaultName, url: upstream, provider: upstreamProvider, prefix: "")] + upstreams
    }

    /// The index in `routes` of the upstream `path` goes to, and how many leading characters
    /// are its prefix (what remains starts with `/v1/`); nil when it goes to none.
    public static func route(_ path: some StringProtocol, in routes: [Upstream]) -> (index: Int, prefixLength: Int)? {
        if path.hasPrefix("/v1/") { return (0, 0) }
        for index in routes.indices.dropFirst() {
            let prefix = routes[index].prefix
            guard path.hasPrefix(prefix) else { continue }
            let rest = path.utf8.dropFirst(prefix.utf8.count)
            if rest.starts(with: "/v1/".utf8) { return (index, prefix.utf8.count) }
        }
        return nil
    }

    /// Reads the `upstreams` list of a configuration file.
    mutating func applyUpstreams(_ node: Node, path: String) throws(ErrWatchError) {
        upstreams = []
        for item in try AlertsConfiguration.sequence(node, what: "upstreams", path: path) {
            let fields = try AlertsConfiguration.mapping(item, what: "an upstream", path: path)
            let line = AlertsConfiguration.line(item)
            guard let name = fields["name"]?.text, Self.isName(name),
                  name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
            else {
                throw ErrWatchError(.configuration,
                    "An upstream (\(path) line \(line)) needs a name of letters, digits, '-', '_' or '.', such as anthropic.")
            }
            let origin = "upstream '\(name)' (\(path) line \(line))"
            guard name != Upstream.defaultName, !upstreams.contains(where: { $0.name == name }) else {
                throw ErrWatchError(.configuration, "The name of \(origin) is taken (by another upstream, or 'default' by the upstream setting); give each its own.")
            }
            if let unknown = fields.keys.sorted().first(where: { !Upstream.keys.contains($0) }) {
                throw ErrWatchError(.configuration, "Unknown key '\(unknown)' in \(origin); an upstream takes \(Upstream.keys.joined(separator: ", ")).")
            }
            guard let base = (fields["url"]?.text).flatMap(Self.baseURL) else {
                throw ErrWatchError(.configuration, "Invalid url '\(fields["url"]?.text ?? "")' of \(origin); give an http or https base URL such as https://api.anthropic.com/v1.")
            }
            let prefix = fields["prefix"]?.text ?? "/" + name
            let segments = prefix.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
            guard prefix.hasPrefix("/"), !segments.isEmpty,
                  segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) } }),
                  !Upstream.reservedPrefixes.contains(where: { prefix == $0 || prefix.hasPrefix($0 + "/") })
            else {
                throw ErrWatchError(.configuration,
                    "Invalid prefix '\(prefix)' of \(origin); give a path such as /\(name) (apps then call /\(name)/v1/…), not one of the agent's own (/v1, /api, /metrics).")
            }
            if let other = upstreams.first(where: { $0.prefix == prefix }) {
                throw ErrWatchError(.configuration, "The prefix '\(prefix)' of \(origin) is also upstream '\(other.name)''s; give each its own.")
            }
            let provider = fields["provider"]?.text ?? Provider.name(host: Provider.host(ofURL: base))
            guard Self.isName(provider) else {
                throw ErrWatchError(.configuration, "Invalid provider '\(provider)' of \(origin); give a name of 1 to \(OutcomeDecoder.maxNameLength) characters.")
            }
            upstreams.append(Upstream(name: name, url: base, provider: provider, prefix: prefix))
        }
    }
}
