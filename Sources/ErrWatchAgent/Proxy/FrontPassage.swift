import Hummingbird
import NIOCore
import NIOHTTP1

/// What the handlers in front of the router (the proxy's fast path, the fake upstream) share:
/// a request they do not take passes on to the router untouched, part by part, and a graceful
/// stop waits for the call they are answering before it reaches the connection.
package struct FrontPassage {
    package init() {}

    /// Whether the request under way belongs to the router.
    private var passing = false
    /// A quiesce (graceful stop) that arrived mid-call, delivered once the call ends.
    private var heldQuiesce: Any?

    /// Passes on a part of the router's request; true when the part was the router's.
    package mutating func passOn(_ part: HTTPServerRequestPart, _ data: NIOAny, context: ChannelHandlerContext) -> Bool {
        guard passing else { return false }
        if case .end = part { passing = false }
        context.fireChannelRead(data)
        return true
    }

    /// Gives the request with `head` to the router.
    package mutating func giveToRouter(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        passing = true
        context.fireChannelRead(NIOAny(HTTPServerRequestPart.head(head)))
    }

    /// Answers `expect: 100-continue` when `allowed`, so that an app waiting to be told to send
    /// its body (curl does, for large ones) does not wait a second for nothing. Not allowed (the
    /// request will be refused: no route, no token, too large), no `100 Continue` is sent and
    /// the refusal comes as the final answer, so the body is never invited. Returns the head
    /// without the expectation, which is dealt with.
    package static func continueIfExpected(_ head: HTTPRequestHead, context: ChannelHandlerContext, allowed: Bool = true) -> HTTPRequestHead {
        guard let expectation = head.headers.first(name: "expect") else { return head }
        var head = head
        head.headers.remove(name: "expect")
        if allowed, expectation.lowercased() == "100-continue" {
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
        return head
    }

    /// Holds `event` when it is a graceful stop and a call is `busy`; true when held.
    package mutating func hold(_ event: Any, busy: Bool) -> Bool {
        guard busy, event is ChannelShouldQuiesceEvent else { return false }
        heldQuiesce = event
        return true
    }

    /// The call is over: a held graceful stop goes on.
    package mutating func callEnded(context: ChannelHandlerContext?) {
        guard let event = heldQuiesce, let context else { return }
        heldQuiesce = nil
        context.fireUserInboundEventTriggered(event)
    }
}

/// Whether the agent invites the body of a request that expects `100 Continue`: only once the
/// request is known to be routed, authorised and within its size limit.
struct ContinuePolicy: Sendable {
    var authToken: String?
    var maxRequestBody: Int64
    var maxIngestBody: Int64

    func allows(_ head: HTTPRequestHead) -> Bool {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let length = head.headers.first(name: "content-length").flatMap { Int64($0) }
        if path.hasPrefix("/v1/") {
            return ProxyHeaders.unsafePathReason(path) == nil && (length ?? 0) <= maxRequestBody
        }
        guard path == "/api/v1/events", (length ?? 0) <= maxIngestBody else { return false }
        guard let authToken else { return true }
        let presented = head.headers.first(name: "authorization").flatMap { value -> Substring? in
            value.lowercased().hasPrefix("bearer ") ? value.dropFirst(7) : nil
        }
        return presented.map { AuthMiddleware<BasicRequestContext>.constantTimeEquals(Array($0.utf8), Array(authToken.utf8)) } ?? false
    }
}
