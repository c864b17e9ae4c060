/// A call the proxy has under way: what hanging rules judge, `GET /api/v1/inflight` lists and
/// `/metrics` counts. Only the calls' side of a series is known before a response.
public struct InflightCall: Sendable, Hashable {
    /// When it began, UTC milliseconds.
    public var startedAt: Int64
    public var app: String
    public var endpoint: String
    /// Empty until the request body has been read.
    public var model: String
    public var upstream: String
    public var provider: String
    public var host: String
    public var streaming: Bool

    public init(startedAt: Int64, app: String, endpoint: String, model: String, upstream: String = "", provider: String = "", host: String = "",
                streaming: Bool) {
        self.startedAt = startedAt
        self.app = app
        self.endpoint = endpoint
        self.model = model
        self.upstream = upstream
        self.provider = provider
        self.host = host
        self.streaming = streaming
    }

    /// Its series as far as it is known: no status, type or code yet.
    public var series: SeriesDimensions {
        SeriesDimensions(app: app, endpoint: endpoint, model: model, upstream: upstream, provider: provider, host: host, status: 0, type: "", code: "")
    }
}
