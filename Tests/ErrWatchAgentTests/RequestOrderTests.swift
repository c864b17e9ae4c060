@testable import ErrWatchAgent
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The order of a client connection's requests and responses (``RequestOrder``), through its
/// handler in an `EmbeddedChannel`: what reaches the handlers behind it, when, and when the
/// connection reads from its socket.
@Suite struct RequestOrderTests {
    /// Counts the reads that reach the socket end of the pipeline.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        var reads = 0

        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    /// A connection with the order in it: the socket end counts reads, the far end sees what is handed on.
    final class Rig {
        let channel: EmbeddedChannel
        let counter = ReadCounter()

        init(holdLimit: Int = 64 * 1_024) throws {
            channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandlers([counter, RequestOrderHandler(holdLimit: holdLimit)])
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
            counter.reads = 0
        }

        /// A client's request, in full.
        func request(_ uri: String, body: String? = nil) throws {
            var head = HTTPRequestHead(version: .http1_1, method: body == nil ? .GET : .POST, uri: uri)
            head.headers.add(name: "host", value: "127.0.0.1")
            try channel.writeInbound(HTTPServerRequestPart.head(head))
            if let body { try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: body))) }
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
        }

        /// The URIs and ends handed on so far, in order.
        func handedOn() throws -> [String] {
            var seen: [String] = []
            while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
                switch part {
                case .head(let head): seen.append(head.uri)
                case .body: seen.append("body")
                case .end: seen.append("end")
                }
            }
            return seen
        }

        /// A whole response to the request under way.
        func respond() throws {
            try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
            try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        }

        /// The response heads written to the socket.
        func written() throws -> [HTTPResponseHead] {
            var heads: [HTTPResponseHead] = []
            while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
                if case .head(let head) = part { heads.append(head) }
            }
            return heads
        }
    }

    @Test func aClientThatWaitsForEachAnswerKeepsItsConnectionReading() throws {
        let rig = try Rig()
        for call in 1...3 {
            try rig.request("/v1/\(call)", body: "{}")
            #expect(try rig.handedOn() == ["/v1/\(call)", "body", "end"])
            // Between the request's end and the response's: the read goes through, no pause.
            rig.channel.read()
            #expect(rig.counter.reads == call)
            try rig.respond()
        }
        #expect(try rig.written().count == 3)
    }

    /// Counts the ends of reads that reach the far end.
    final class ReadCompletes: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var count = 0
        func channelReadComplete(context: ChannelHandlerContext) { count += 1 }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }
    }

    @Test func pipelinedRequestsAreHandedOnOneAtATimeInOrder() throws {
        let rig = try Rig()
        let completes = ReadCompletes()
        try rig.channel.pipeline.syncOperations.addHandler(completes)
        try rig.request("/v1/first")
        try rig.request("/v1/second", body: "{}")
        try rig.request("/v1/third")
        #expect(try rig.handedOn() == ["/v1/first", "end"])
        let readsEnded = completes.count
        try rig.respond()
        #expect(try rig.handedOn() == ["/v1/second", "body", "end"])
        // Ended as a socket read would end: the router's async channel takes what came only then.
        #expect(completes.count == readsEnded + 1)
        try rig.respond()
        #expect(try rig.handedOn() == ["/v1/third", "end"])
        try rig.respond()
        #expect(try rig.handedOn().isEmpty)
        #expect(try rig.written().count == 3)
    }

    @Test func readingStopsWhileTooMuchIsHeldAndResumesAsItGoesOn() throws {
        // Every held head counts 1 KiB: three held are over the limit, two are not.
        let rig = try Rig(holdLimit: 2_500)
        try rig.request("/v1/0")
        for call in 1...3 { try rig.request("/v1/\(call)") }
        rig.channel.read()
        #expect(rig.counter.reads == 0)
        _ = try rig.handedOn()
        try rig.respond()
        // One handed on, two held: the read that waited goes through.
        #expect(try rig.handedOn() == ["/v1/1", "end"])
        #expect(rig.counter.reads == 1)
    }

    @Test func aResponseBeforeTheRequestEndsLetsTheRestOfTheRequestThrough() throws {
        let rig = try Rig()
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/big")
        head.headers.add(name: "host", value: "127.0.0.1")
        try rig.channel.writeInbound(HTTPServerRequestPart.head(head))
        // Refused early (too large, say), then the body goes on arriving.
        try rig.respond()
        try rig.channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "xxxx")))
        try rig.channel.writeInbound(HTTPServerRequestPart.end(nil))
        try rig.request("/v1/next")
        #expect(try rig.handedOn() == ["/v1/big", "body", "end", "/v1/next", "end"])
    }

    /// Sees the client's half-close.
    final class InputClosedSeen: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        var seen = false
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed = event { seen = true }
        }
    }

    @Test func aHalfCloseDuringACallGoesOnAtOnceAsTheAppGivingUp() throws {
        let rig = try Rig()
        let seen = InputClosedSeen()
        try rig.channel.pipeline.syncOperations.addHandler(seen)
        try rig.request("/v1/streaming")
        rig.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(seen.seen)
    }

    @Test func aHalfCloseAfterPipelinedRequestsComesAfterThem() throws {
        let rig = try Rig()
        let seen = InputClosedSeen()
        try rig.channel.pipeline.syncOperations.addHandler(seen)
        try rig.request("/v1/first")
        try rig.request("/v1/second")
        rig.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try rig.handedOn() == ["/v1/first", "end"] && !seen.seen)
        try rig.respond()
        // The second request goes on, and the half-close behind it though its answer is due.
        #expect(try rig.handedOn() == ["/v1/second", "end"] && seen.seen)
    }

    @Test func aGracefulStopClosesAnIdleConnectionAtOnce() throws {
        let rig = try Rig()
        try rig.request("/v1/done")
        try rig.respond()
        rig.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!rig.channel.isActive)
    }

    @Test func aGracefulStopAnswersTheCallUnderWaySaysCloseAndDropsWhatWasPipelined() throws {
        let rig = try Rig()
        try rig.request("/v1/under-way")
        try rig.request("/v1/pipelined")
        _ = try rig.handedOn()
        rig.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(rig.channel.isActive)
        try rig.respond()
        let heads = try rig.written()
        #expect(heads.count == 1 && heads.first?.headers["connection"] == ["close"])
        #expect(try rig.handedOn().isEmpty)
        #expect(!rig.channel.isActive)
    }

    @Test func aGracefulStopMidRequestTakesThatRequestThenCloses() throws {
        let rig = try Rig()
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/arriving")
        head.headers.add(name: "host", value: "127.0.0.1")
        try rig.channel.writeInbound(HTTPServerRequestPart.head(head))
        rig.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try rig.channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "{}")))
        try rig.channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(try rig.handedOn() == ["/v1/arriving", "body", "end"])
        #expect(rig.channel.isActive)
        try rig.respond()
        #expect(try rig.written().first?.headers["connection"] == ["close"])
        #expect(!rig.channel.isActive)
    }
}
