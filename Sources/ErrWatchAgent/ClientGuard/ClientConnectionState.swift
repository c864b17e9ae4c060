import NIOCore

/// Where one client connection stands, and until when it may stay there: the rules against
/// slow and stalled clients, as a state machine that takes events and tells the handler what
/// to do (``ClientGuardHandler`` is the handler). Time is passed in; nothing here reads a clock.
///
/// - Idle (just opened, or its last response sent): it may stay so for the idle timeout.
/// - Once a byte of a request arrives, the whole head must arrive within the header timeout.
/// - A request body must make progress: no more than the body timeout between two parts.
/// - While errwatch answers, the client is not timed: the upstream timeouts govern.
struct ClientConnectionState {
    /// The limits, in the event loop's clock.
    struct Limits: Sendable {
        var header: TimeAmount
        var body: TimeAmount
        var idle: TimeAmount
    }

    enum Phase: Equatable {
        case idle
        case readingHead
        case readingBody
        case responding
    }

    private(set) var phase = Phase.idle
    /// When the connection is closed unless something happens first.
    private(set) var deadline: NIODeadline
    /// Whether the response to the request under way has ended (it may end before the request does).
    private var responded = false
    let limits: Limits

    init(limits: Limits, now: NIODeadline) {
        self.limits = limits
        deadline = now + limits.idle
    }

    /// Bytes came from the client.
    mutating func bytesArrived(now: NIODeadline) {
        guard phase == .idle else { return }
        phase = .readingHead
        deadline = now + limits.header
    }

    /// A request head was parsed.
    mutating func requestHead(now: NIODeadline) {
        phase = .readingBody
        responded = false
        deadline = now + limits.body
    }

    /// Part of a request body arrived.
    mutating func requestBody(now: NIODeadline) {
        guard phase == .readingBody else { return }
        deadline = now + limits.body
    }

    /// The request is complete: errwatch answers now, untimed (or the connection is idle
    /// again if the answer went out first).
    mutating func requestEnd(now: NIODeadline) {
        guard phase == .readingBody else { return }
        if responded {
            becomeIdle(now: now)
        } else {
            phase = .responding
            deadline = .distantFuture
        }
    }

    /// The response ended.
    mutating func responseEnd(now: NIODeadline) {
        switch phase {
        case .responding: becomeIdle(now: now)
        case .readingBody: responded = true  // an early answer (413, 401): the body must still finish in time
        case .idle, .readingHead: break
        }
    }

    /// Whether the connection has outstayed its phase at `now`.
    func expired(now: NIODeadline) -> Bool { now >= deadline }

    /// Whether closing the connection loses nothing: no request is being answered on it.
    var isEvictable: Bool { phase == .idle || phase == .readingHead }

    private mutating func becomeIdle(now: NIODeadline) {
        phase = .idle
        responded = false
        deadline = now + limits.idle
    }
}
