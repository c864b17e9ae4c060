@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The fast path's channel handler in `EmbeddedChannel`s: the client's connection on one side,
/// its upstream connection on the other, both on one embedded event loop whose clock the test
/// moves. What each side is sent, and what is recorded in a real temporary database.
@Suite struct FastProxyHandlerTests {
    /// A client channel with the fast path in it, the upstream channel its pool hands out, and
    /// the store it records into.
    final class Rig {
        let loop = EmbeddedEventLoop()
        let client: EmbeddedChannel
        let upstream: EmbeddedChannel
        let upstreamHandler = UpstreamHandler()
        let inflight = InflightCalls()
        let workspace: Workspace
        let store: Store
        let writer: BatchWriter
        let running: Task<Void, Never>

        init() throws {
            workspace = try Workspace()
            store = try Store.open(path: workspace.path("fast.db"))
            writer = BatchWriter(store: store)
            running = Task { [writer] in await writer.run() }
            upstream = EmbeddedChannel(loop: loop)
            try upstream.pipeline.syncOperations.addHandler(upstreamHandler)
            try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
            var configuration = AgentConfiguration()
            configuration.upstream = "http://api.example.test/v1"
            configuration.timeoutMs = 2_000
            configuration.streamTimeoutMs = 10_000
            let connection = UpstreamPool.Connection(channel: upstream, handler: upstreamHandler)
            let pools = UpstreamPools(target: try #require(UpstreamTarget(configuration.upstream)), tls: nil) { loop in
                loop.makeSucceededFuture(connection)
            }
            let shared = FastProxyHandler.Shared(
                configuration: configuration, routes: configuration.routes, pools: [pools],
                sink: OutcomeSink(writer: writer, metrics: AgentMetrics(), limiter: DimensionLimiter(), inflight: inflight, hostName: "test-host"),
                rateLimits: RateLimitTracker(), now: { 1_700_000_000_000 },
                continues: ContinuePolicy(authToken: nil, maxRequestBody: 1 << 20, maxIngestBody: 1 << 20))
            client = EmbeddedChannel(handler: FastProxyHandler(shared), loop: loop)
            try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        }

        /// An app's request, sent in full.
        func request(_ body: String, headers: [(String, String)] = []) throws {
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions?x=1",
                                       headers: NIOHTTP1.HTTPHeaders([("content-length", String(body.utf8.count))] + headers))
            head.headers.add(name: "host", value: "127.0.0.1:8080")
            try client.writeInbound(HTTPServerRequestPart.head(head))
            try client.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: body)))
            try client.writeInbound(HTTPServerRequestPart.end(nil))
        }

        /// What the upstream was sent.
        func sentUpstream() throws -> [HTTPClientRequestPart] {
            var parts: [HTTPClientRequestPart] = []
            while let part = try upstream.readOutbound(as: HTTPClientRequestPart.self) { parts.append(part) }
            return parts
        }

        /// The upstream answers with `parts`, delivered as one read.
        func respond(_ parts: HTTPClientResponsePart...) throws {
            for part in parts { try upstream.writeInbound(part) }
            upstream.pipeline.fireChannelReadComplete()
        }

        /// What the client was sent.
        func received() throws -> [HTTPServerResponsePart] {
            var parts: [HTTPServerResponsePart] = []
            while let part = try client.readOutbound(as: HTTPServerResponsePart.self) { parts.append(part) }
            return parts
        }

        /// Everything recorded, once written: the errors and the count of calls.
        func recorded() async throws -> (errors: [CallOutcome], calls: Int64) {
            await writer.flush()
            let filter = Filter(since: 0, until: Int64.max / 2)
            return (try store.errors(filter, limit: 100).events.map(\.outcome), try store.rates(filter, by: [])[0].calls)
        }

        func finish() async {
            writer.beginShutdown()
            await running.value
            workspace.cleanup()
        }
    }

    @Test func aCallGoesUpstreamWithoutHopHeadersAndComesBackRecorded() async throws {
        let rig = try Rig()
        try rig.request(#"{"model":"gpt-4o","messages":[]}"#, headers: [("x-errwatch-app", "billing"), ("connection", "keep-alive"), ("accept-encoding", "gzip")])
        let sent = try rig.sentUpstream()
        guard sent.count == 3, case .head(let head) = sent[0], case .body(.byteBuffer(let body)) = sent[1], case .end = sent[2] else {
            Issue.record("expected head, body and end upstream, got \(sent)")
            return await rig.finish()
        }
        #expect(head.uri == "/v1/chat/completions?x=1" && head.headers["host"] == ["api.example.test"])
        #expect(head.headers["x-errwatch-app"].isEmpty && head.headers["connection"].isEmpty && head.headers["accept-encoding"].isEmpty)
        #expect(head.headers["content-length"] == ["32"] && body.readableBytes == 32)
        // Under way until its outcome is recorded.
        #expect(rig.inflight.snapshot.map(\.model) == ["gpt-4o"])

        rig.loop.advanceTime(by: .milliseconds(40))
        try rig.respond(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: [
            "content-type": "application/json", "content-length": "2", "keep-alive": "timeout=5", "x-request-id": "req_7",
        ])), .body(ByteBuffer(string: "{}")))
        rig.loop.advanceTime(by: .milliseconds(10))
        try rig.respond(.end(nil))
        let received = try rig.received()
        guard received.count == 3, case .head(let response) = received[0], case .end = received[2] else {
            Issue.record("expected head, body and end to the client, got \(received)")
            return await rig.finish()
        }
        #expect(response.status == .ok && response.headers["keep-alive"].isEmpty && response.headers["content-length"] == ["2"])
        // The upstream connection went back to the pool; the client's stays open for the next call.
        #expect(rig.upstreamHandler.delegate == nil && rig.client.isActive)

        let recorded = try await rig.recorded()
        #expect(recorded.calls == 1 && recorded.errors.isEmpty && rig.inflight.count == 0)
        await rig.finish()
    }

    @Test func anUpstreamClosingBeforeItsHeadIsA502ToTheClient() async throws {
        let rig = try Rig()
        try rig.request(#"{"model":"gpt-4o","messages":[]}"#)
        _ = try rig.sentUpstream()
        try await rig.upstream.close().get()
        let received = try rig.received()
        guard case .head(let head)? = received.first, case .body(.byteBuffer(let body)) = received[1] else {
            Issue.record("expected errwatch's answer, got \(received)")
            return await rig.finish()
        }
        #expect(head.status == .badGateway && String(buffer: body).contains("\"code\":\"upstream_connect_failed\""))
        let error = try #require(try await rig.recorded().errors.first)
        #expect(error.error?.type == .connection && error.status == nil && error.model == "gpt-4o")
        await rig.finish()
    }

    @Test func noHeadBeforeTheTimeoutIsA504WhenTheLoopClockGetsThere() async throws {
        let rig = try Rig()
        try rig.request(#"{"model":"gpt-4o","messages":[]}"#)
        _ = try rig.sentUpstream()
        rig.loop.advanceTime(by: .milliseconds(1_999))
        #expect(try rig.received().isEmpty)
        rig.loop.advanceTime(by: .milliseconds(1))
        guard case .head(let head)? = try rig.received().first else {
            Issue.record("expected a 504")
            return await rig.finish()
        }
        #expect(head.status == .gatewayTimeout && !rig.upstream.isActive)
        let error = try #require(try await rig.recorded().errors.first)
        #expect(error.error?.code == "upstream_timeout" && error.latencyMs == 2_000)
        await rig.finish()
    }

    @Test func aStreamThatFallsSilentIsCutAndBothConnectionsClose() async throws {
        let rig = try Rig()
        try rig.request(#"{"model":"gpt-4o","stream":true}"#)
        _ = try rig.sentUpstream()
        try rig.respond(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-type": "text/event-stream"])),
                        .body(ByteBuffer(string: "data: {\"choices\":[]}\n\n")))
        rig.loop.advanceTime(by: .milliseconds(9_000))
        try rig.respond(.body(ByteBuffer(string: "data: {\"choices\":[]}\n\n")))
        // A chunk came 9 s in: the silence limit counts from it.
        rig.loop.advanceTime(by: .milliseconds(9_000))
        #expect(rig.client.isActive)
        rig.loop.advanceTime(by: .milliseconds(1_000))
        #expect(!rig.client.isActive && !rig.upstream.isActive)
        let error = try #require(try await rig.recorded().errors.first)
        #expect(error.status == 200 && error.streamed && error.error?.message.hasSuffix("it sent nothing for 10s.") == true)
        await rig.finish()
    }

    @Test func anAppHangingUpMidStreamIs499AndTheUpstreamRequestIsCancelled() async throws {
        let rig = try Rig()
        try rig.request(#"{"model":"gpt-4o","stream":true}"#)
        _ = try rig.sentUpstream()
        try rig.respond(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-type": "text/event-stream"])))
        try await rig.client.close().get()
        #expect(!rig.upstream.isActive)
        let error = try #require(try await rig.recorded().errors.first)
        #expect(error.status == 499 && error.error?.code == "client_closed_request" && rig.inflight.count == 0)
        await rig.finish()
    }
}
