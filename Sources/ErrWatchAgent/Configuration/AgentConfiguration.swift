import ErrWatchCore
import ErrWatchStore
import Foundation
import Logging
import NIOSSL
import Yams

/// Everything the agent is told: where it listens, what it forwards to, where it records.
/// Every setting has a default, so `errwatch agent --upstream URL` works alone. Values come,
/// by precedence, from a flag, an `ERRWATCH_*` environment variable, the YAML file, the default.
public struct AgentConfiguration: Sendable, Hashable {
    /// The address to listen on; loopback unless told otherwise.
    public var host = "127.0.0.1"
    /// The port to listen on; 0 picks a free one.
    public var port = 8787
    /// The base URL requests under `/v1/` are forwarded to.
    public var upstream = "https://api.ofox.ai/v1"
    /// A PEM file of CA certificates an https upstream's certificate may chain to besides the
    /// system's (a company proxy's CA); verification itself is never turned off.
    public var tlsCAFile: String?
    /// The certificates of ``tlsCAFile``, read when the setting is given.
    public var tlsCACertificates: [NIOSSLCertificate] = []
    /// The database file; nil means `./errwatch.db`.
    public var database: String?
    /// The app name recorded for proxied calls that do not name one (`x-errwatch-app`).
    public var app = "default"
    /// More upstreams, each under its own path prefix (the file's `upstreams` list); see ``routes``.
    public var upstreams: [Upstream] = []
    /// The provider recorded for calls to ``upstream``; nil derives it from the upstream's host
    /// (``Provider/name(host:)``: `api.openai.com` is `openai`).
    public var provider: String?
    /// The name this agent records its calls under (the `host` dimension), so that a merged
    /// fleet's history keeps where each call came from; by default the machine's host name.
    public var hostName = Store.machineHostName

    /// The provider recorded for calls to ``upstream``: ``provider``, else derived from its host.
    public var upstreamProvider: String { provider ?? Provider.name(host: Provider.host(ofURL: upstream)) }
    /// When set, `/api/*` requires `Authorization: Bearer <token>`.
    public var authToken: String?
    /// The largest request body the proxy forwards.
    public var maxRequestBody: Int64 = 32 << 20
    /// The largest body `POST /api/v1/events` accepts.
    public var maxIngestBody: Int64 = 8 << 20
    /// How long the proxy waits for an upstream's response headers.
    public var timeoutMs: Int64 = 60_000
    /// The same for streaming requests (`"stream": true`), and the longest silence in any stream.
    public var streamTimeoutMs: Int64 = 300_000
    /// How long a stop waits for in-flight requests before cutting them.
    public var shutdownGraceMs: Int64 = 30_000
    /// How long a client has to send a whole request head once it has begun one.
    public var headerTimeoutMs: Int64 = 10_000
    /// The longest a request body may go without a byte arriving.
    public var bodyTimeoutMs: Int64 = 30_000
    /// How long an idle keep-alive client connection is kept open.
    public var idleTimeoutMs: Int64 = 60_000
    /// Host names errwatch's own endpoints answer to besides loopback ones, when it listens on
    /// loopback (a reverse proxy's name, say); lower-cased, without port.
    public var allowedHosts: Set<String> = []
    /// The most client connections open at once; nil derives it from the descriptor limit
    /// (``ClientConnections/derivedLimit(descriptors:)``).
    public var maxConnections: Int?
    /// Whether to listen on a non-loopback address without an auth token.
    public var allowPublic = false
    /// How durable each committed batch is (SQLite's `synchronous`).
    public var synchronous: Store.Synchronous = .normal
    /// How log lines are written: nil is text on a terminal, JSON otherwise (``LogFormat/standard``).
    public var logFormat: LogFormat?
    /// The lowest level logged.
    public var logLevel: Logger.Level = .info
    /// How long each kind of data is kept and how large the file may grow (`retain_*`,
    /// `max_db_size`); the agent applies it every ``pruneIntervalMs``.
    public var retention = RetentionPolicy()
    /// How often the agent applies ``retention``.
    public var pruneIntervalMs: Int64 = 3_600_000
    /// Rules, notifiers and how often they run (the file's `rules`, `notifiers`,
    /// `evaluation_interval` and `external_url`).
    public var alerts = AlertsConfiguration()
    /// Export to an OpenTelemetry collector (off without an endpoint).
    public var otlp = OTLPSettings()

    /// Where and how the agent exports OTLP: `otlp_*` settings, else the standard `OTEL_*`
    /// variables.
    public struct OTLPSettings: Sendable, Hashable {
        /// The collector's OTLP/HTTP base URL (`/v1/metrics` and `/v1/logs` are added); nil: no export.
        public var endpoint: String?
        /// Headers sent with every export (an API key for a hosted collector).
        public var headers: [String: String] = [:]
        /// How often metrics are exported.
        public var intervalMs: Int64 = 60_000
        /// `service.name`, and more resource attributes (`OTEL_RESOURCE_ATTRIBUTES`).
        public var serviceName = "errwatch"
        public var resourceAttributes: [String: String] = [:]

        public init() {}

        /// `k=v,k2=v2`, as the OTEL_*_HEADERS variables are written (values percent-decoded).
        static func pairs(_ text: String) -> [String: String]? {
            var result: [String: String] = [:]
            for part in text.split(separator: ",") {
                guard let equals = part.firstIndex(of: "=") else { return nil }
                let key = part[..<equals].trimmingCharacters(in: .whitespaces)
                let value = part[part.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty else { return nil }
                result[key] = value.removingPercentEncoding ?? value
            }
            return result
        }
    }

    /// The defaults.
    public init() {}

    /// The keys a configuration file may hold, with what each takes.
    public static let keys: [(key: String, environment: String, help: String)] = [
        ("listen", "ERRWATCH_LISTEN", "HOST:PORT to listen on (default 127.0.0.1:8787)"),
        ("upstream", "ERRWATCH_UPSTREAM", "base URL to forward /v1/* to (default https://api.ofox.ai/v1)"),
        ("tls_ca_file", "ERRWATCH_TLS_CA_FILE", "PEM file of CA certificates an https upstream may chain to, beside the system's (default none)"),
        ("db", "ERRWATCH_DB", "database file (default ./errwatch.db)"),
        ("app", "ERRWATCH_APP", "app name for proxied calls (default 'default')"),
        ("provider", "ERRWATCH_PROVIDER", "provider recorded for the upstream's calls (default: from its host, e.g. openai)"),
        ("host_name", "ERRWATCH_HOST_NAME", "name this agent records its calls under, kept apart in merged files (default: the machine's host name)"),
        ("auth_token", "ERRWATCH_AUTH_TOKEN", "bearer token that /api/* requires (default none)"),
        ("max_request_body", "ERRWATCH_MAX_REQUEST_BODY", "largest proxied request body (default 32MiB)"),
        ("max_ingest_body", "ERRWATCH_MAX_INGEST_BODY", "largest POST /api/v1/events body (default 8MiB)"),
        ("timeout", "ERRWATCH_TIMEOUT", "wait for upstream response headers (default 60s)"),
        ("stream_timeout", "ERRWATCH_STREAM_TIMEOUT", "the same for streams, and the longest silence in one (default 300s)"),
        ("shutdown_grace", "ERRWATCH_SHUTDOWN_GRACE", "how long a stop waits for in-flight requests before cutting them (default 30s)"),
        ("header_timeout", "ERRWATCH_HEADER_TIMEOUT", "time a client has to send a request head it has begun (default 10s)"),
        ("body_timeout", "ERRWATCH_BODY_TIMEOUT", "longest a request body may stall (default 30s)"),
        ("idle_timeout", "ERRWATCH_IDLE_TIMEOUT", "how long an idle keep-alive client connection stays open (default 60s)"),
        ("max_connections", "ERRWATCH_MAX_CONNECTIONS", "most client connections at once (default: from the descriptor limit)"),
        ("allowed_hosts", "ERRWATCH_ALLOWED_HOSTS", "comma list of Host names the API answers to besides loopback ones (default none)"),
        ("allow_public", "ERRWATCH_ALLOW_PUBLIC", "listen on a non-loopback address without auth_token (default false)"),
        ("synchronous", "ERRWATCH_SYNCHRONOUS", "normal: survives errwatch crashing; full: also power loss; off (default normal)"),
        ("retain_errors", "ERRWATCH_RETAIN_ERRORS", "how long error rows are kept, or forever (default 30d)"),
        ("retain_minute_counts", "ERRWATCH_RETAIN_MINUTE_COUNTS", "how long per-minute call counts are kept; older ones live on hourly (default 7d)"),
        ("retain_rollups", "ERRWATCH_RETAIN_ROLLUPS", "how long hourly and daily counts are kept, or forever (default 400d)"),
        ("retain_alerts", "ERRWATCH_RETAIN_ALERTS", "how long alert history and notifications are kept, or forever (default 90d)"),
        ("max_db_size", "ERRWATCH_MAX_DB_SIZE", "the most the database may hold: oldest errors go first, then counts (default none)"),
        ("prune_interval", "ERRWATCH_PRUNE_INTERVAL", "how often the agent applies retention (default 1h)"),
        ("evaluation_interval", "ERRWATCH_EVALUATION_INTERVAL", "how often alert rules run (default 15s)"),
        ("external_url", "ERRWATCH_EXTERNAL_URL", "the agent's URL as people reach it, for links in alerts (default http://LISTEN)"),
        ("log_format", "ERRWATCH_LOG_FORMAT", "text or json: one JSON object per line (default text on a terminal, json otherwise)"),
        ("log_level", "ERRWATCH_LOG_LEVEL", "trace, debug, info, notice, warning, error or critical (default info)"),
        ("otlp_endpoint", "ERRWATCH_OTLP_ENDPOINT", "OpenTelemetry collector's OTLP/HTTP URL to export metrics and logs to (default $OTEL_EXPORTER_OTLP_ENDPOINT, else none)"),
        ("otlp_headers", "ERRWATCH_OTLP_HEADERS", "headers for the collector, k=v,k2=v2 (default $OTEL_EXPORTER_OTLP_HEADERS)"),
        ("otlp_interval", "ERRWATCH_OTLP_INTERVAL", "how often metrics are exported (default 60s)"),
    ]

    /// The keys only a configuration file holds: lists, not single values.
    public static let fileKeys = ["upstreams", "notifiers", "rules", "digests"]

    /// An http or https base URL without its trailing slash; nil when `text` is not one.
    static func baseURL(_ text: String) -> String? {
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else { return nil }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    /// Whether `text` may be recorded as a name (an app, a provider, a host): 1 to 200 characters.
    static func isName(_ text: String) -> Bool { !text.isEmpty && text.count <= OutcomeDecoder.maxNameLength }

    /// Sets `key` from its text; `origin` names where it came from in error messages.
    public mutating func set(_ key: String, to text: String, origin: String) throws(ErrWatchError) {
        func invalid(_ what: String) -> ErrWatchError {
            ErrWatchError(.configuration, "Invalid \(key) '\(text)' (\(origin)); \(what).")
        }
        switch key {
        case "listen":
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
                throw invalid("give HOST:PORT such as 127.0.0.1:8787")
            }
            let host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            guard !host.isEmpty else { throw invalid("give HOST:PORT such as 127.0.0.1:8787") }
            self.host = host
            self.port = port
        case "upstream":
            guard let base = Self.baseURL(text) else { throw invalid("give an http or https base URL such as https://api.ofox.ai/v1") }
            upstream = base
        case "tls_ca_file":
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(text)
            } catch {
                throw invalid(FileManager.default.isReadableFile(atPath: text)
                    ? "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)" : "the file cannot be read")
            }
            guard !certificates.isEmpty else { throw invalid("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)") }
            tlsCAFile = text
            tlsCACertificates = certificates
        case "db":
            guard !text.isEmpty else { throw invalid("give a file path") }
            database = text
        case "app", "provider", "host_name":
            guard Self.isName(text) else { throw invalid("give a name of 1 to \(OutcomeDecoder.maxNameLength) characters") }
            switch key {
            case "app": app = text
            case "provider": provider = text
            default: hostName = text
            }
        case "auth_token":
            // The rejected value is a secret too: never echoed.
            guard text.count >= 16 else {
                throw ErrWatchError(.configuration, "Invalid auth_token (\(origin)); use at least 16 characters (the value is not shown).")
            }
            authToken = text
        case "max_request_body", "max_ingest_body":
            guard let bytes = ByteSize.bytes(text), bytes > 0 else { throw invalid("give a size such as 32MiB") }
            if key == "max_request_body" { maxRequestBody = bytes } else { maxIngestBody = bytes }
        case "timeout", "stream_timeout", "shutdown_grace", "header_timeout", "body_timeout", "idle_timeout":
            guard let milliseconds = DurationText.milliseconds(text), milliseconds > 0 else { throw invalid("give a duration such as 60s or 5m") }
            switch key {
            case "timeout": timeoutMs = milliseconds
            case "stream_timeout": streamTimeoutMs = milliseconds
            case "header_timeout": headerTimeoutMs = milliseconds
            case "body_timeout": bodyTimeoutMs = milliseconds
            case "idle_timeout": idleTimeoutMs = milliseconds
            default: shutdownGraceMs = milliseconds
            }
        case "allowed_hosts":
            allowedHosts = Set(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty })
        case "max_connections":
            guard let value = Int(text), value >= 1 else { throw invalid("give a number of connections such as 1000") }
            maxConnections = value
        case "allow_public":
            guard let value = ["true": true, "false": false][text.lowercased()] else { throw invalid("give true or false") }
            allowPublic = value
        case "synchronous":
            guard let value = Store.Synchronous(rawValue: text.uppercased()) else { throw invalid("give normal, full or off") }
            synchronous = value
        case "retain_errors", "retain_minute_counts", "retain_rollups", "retain_alerts":
            var age: Int64?
            if text.lowercased() != "forever" {
                guard let milliseconds = DurationText.milliseconds(text), milliseconds >= Timestamp.day else {
                    throw invalid("give a duration of a day or more such as 30d, or forever")
                }
                age = milliseconds
            }
            switch key {
            case "retain_errors": retention.errorsMs = age
            case "retain_minute_counts": retention.minuteCountsMs = age
            case "retain_rollups": retention.rollupsMs = age
            default: retention.alertsMs = age
            }
        case "max_db_size":
            if text.lowercased() == "none" {
                retention.maxBytes = nil
            } else {
                guard let bytes = ByteSize.bytes(text), bytes >= 1 << 20 else { throw invalid("give a size of 1MiB or more such as 2GiB, or none") }
                retention.maxBytes = bytes
            }
        case "prune_interval":
            guard let milliseconds = DurationText.milliseconds(text), milliseconds >= 1_000 else { throw invalid("give a duration such as 1h") }
            pruneIntervalMs = milliseconds
        case "evaluation_interval":
            guard let milliseconds = DurationText.milliseconds(text), milliseconds >= 100 else { throw invalid("give a duration such as 15s") }
            alerts.evaluationIntervalMs = milliseconds
        case "external_url":
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw invalid("give the http or https URL people reach the agent at")
            }
            alerts.externalURL = text.hasSuffix("/") ? String(text.dropLast()) : text
        case "log_format":
            guard let value = LogFormat(rawValue: text.lowercased()) else { throw invalid("give text or json") }
            logFormat = value
        case "log_level":
            guard let value = Logger.Level(rawValue: text.lowercased()) else {
                throw invalid("give one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            logLevel = value
        case "otlp_endpoint":
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw invalid("give the collector's http or https URL such as http://127.0.0.1:4318")
            }
            otlp.endpoint = text.hasSuffix("/") ? String(text.dropLast()) : text
        case "otlp_headers":
            guard let headers = OTLPSettings.pairs(text) else { throw invalid("give name=value pairs separated by commas") }
            otlp.headers = headers
        case "otlp_interval":
            guard let milliseconds = DurationText.milliseconds(text), milliseconds >= 100 else { throw invalid("give a duration of at least 100ms such as 60s") }
            otlp.intervalMs = milliseconds
        default:
            throw ErrWatchError(.configuration,
                "Unknown setting '\(key)' (\(origin)); known settings: \((Self.keys.map(\.key) + Self.fileKeys).joined(separator: ", ")).")
        }
    }

    /// TLS towards an https upstream, for the fast path and the router's client alike: the
    /// certificate verified against the system's trust store and ``tlsCAFile``, the host name
    /// checked, TLS 1.2 or later, HTTP/1.1 offered by ALPN.
    public var upstreamTLS: TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["http/1.1"]
        if !tlsCACertificates.isEmpty { tls.additionalTrustRoots = [.certificates(tlsCACertificates)] }
        return tls
    }

    /// Applies a YAML configuration file's text; `path` names it in error messages, with lines.
    public mutating func apply(yaml: String, path: String) throws(ErrWatchError) {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw ErrWatchError(.configuration, "Cannot read \(path) as YAML: \(String(describing: error).split(separator: "\n").first ?? "").")
        }
        guard let node else { return }
        guard let mapping = node.mapping else {
            throw ErrWatchError(.configuration, "\(path) must be a mapping of settings (key: value), line \(node.mark?.line ?? 1).")
        }
        var lists: [String: Node] = [:]
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? ""
            let line = keyNode.mark?.line ?? 0
            if Self.fileKeys.contains(key) {
                lists[key] = valueNode
                continue
            }
            guard let value = valueNode.scalar?.string else {
                throw ErrWatchError(.configuration, "Setting '\(key)' (\(path) line \(line)) must be a single value.")
            }
            try set(key, to: value, origin: "\(path) line \(line)")
        }
        if let node = lists["upstreams"] { try applyUpstreams(node, path: path) }
        // Notifiers before rules, wherever they stand in the file: rules name them.
        if let node = lists["notifiers"] { try alerts.applyNotifiers(node, path: path) }
        if let node = lists["rules"] { try alerts.applyRules(node, path: path) }
        if let node = lists["digests"] { try alerts.applyDigests(node, path: path) }
    }

    /// `url` as errwatch shows it in logs, answers and stored messages: a password in it
    /// (`http://user:secret@host/v1`) masked as `***`.
    public static func shown(_ url: String) -> String {
        guard let scheme = url.range(of: "://"),
              let at = url[scheme.upperBound...].prefix(while: { $0 != "/" }).lastIndex(of: "@")
        else { return url }
        let userInfo = url[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }

    /// The URL links in notifications point at.
    public var dashboardURL: String {
        alerts.externalURL ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// Whether the listen address can only be reached from this machine.
    public var listensOnLoopback: Bool { Self.isLoopbackName(host) }

    /// Whether `host` names this machine's loopback: `localhost`, `::1`, or an IPv4 address in
    /// 127.0.0.0/8 written as one (`127.evil.example` is a name anyone can point anywhere).
    public static func isLoopbackName(_ host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy { $0.count <= 3 && !$0.isEmpty && $0.allSatisfy(\.isASCII) && Int($0).map { (0...255).contains($0) } == true }
    }

    /// Refuses a public listen address without an auth token, unless `allow_public` says so:
    /// errwatch's API would hand the error history to anyone who can reach the port.
    public func checkExposure() throws(ErrWatchError) {
        guard !listensOnLoopback, authToken == nil, !allowPublic else { return }
        throw ErrWatchError(.configuration,
            "Refusing to listen on \(host):\(port) without auth_token: anyone who reaches it could read the error history; set auth_token, or pass --allow-public to accept that.")
    }

    /// The defaults, then `file` (when given), then the `ERRWATCH_*` variables of `environment`.
    public static func load(file: String?, environment: [String: String]) throws(ErrWatchError) -> AgentConfiguration {
        var configuration = AgentConfiguration()
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ErrWatchError(.configuration, "Cannot read the configuration file '\(file)'; check that it exists and is readable.")
            }
            try configuration.apply(yaml: text, path: file)
        }
        try configuration.apply(environment: environment)
        return configuration
    }

    /// Applies the `ERRWATCH_*` variables that are set.
    public mutating func apply(environment: [String: String]) throws(ErrWatchError) {
        // OpenTelemetry's own variables, which an errwatch setting overrides.
        for (key, variable) in [("otlp_endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT"), ("otlp_headers", "OTEL_EXPORTER_OTLP_HEADERS")]
        where environment[variable]?.isEmpty == false && environment["ERRWATCH_" + key.uppercased()]?.isEmpty != false {
            try set(key, to: environment[variable]!, origin: "environment \(variable)")
        }
        if let name = environment["OTEL_SERVICE_NAME"], !name.isEmpty { otlp.serviceName = name }
        if let text = environment["OTEL_RESOURCE_ATTRIBUTES"], !text.isEmpty {
            guard let attributes = OTLPSettings.pairs(text) else {
                throw ErrWatchError(.configuration, "Invalid OTEL_RESOURCE_ATTRIBUTES '\(text)' (environment); give name=value pairs separated by commas.")
            }
            otlp.resourceAttributes = attributes
        }
        for (key, variable, _) in Self.keys {
            if let value = environment[variable], !value.isEmpty {
                try set(key, to: value, origin: "environment \(variable)")
            }
        }
    }
}
