/// The order of one client connection's requests and responses: one request at a time is handed
/// on, and the next only once the response to the one before has ended, whichever handler answers
/// each (the fast path or the router). A pipelining client's next requests are held meanwhile.
///
/// Unlike NIO's `HTTPServerPipelineHandler`, which stops reading the socket from every request's
/// end to its response's end, reading goes on while little is held: a client that sends one
/// request and waits for its answer (nearly every client) costs no pause and resumption of
/// reading per request, two `epoll_ctl` calls that were about a tenth of the proxy's CPU.
/// Reading stops only once ``holdLimit`` bytes are held, so a pipelining flood is still bounded.
///
/// A pure state machine: it is told what arrived and what was written, and says what to do.
/// ``RequestOrderHandler`` carries it out.
struct RequestOrder {
    /// What arrives from the client, as far as the order is concerned.
    enum Arrival {
        case head
        case body(bytes: Int)
        case end
        /// The HTTP parser gave up: it stands for a request that must be answered (a 400).
        case parserError
        /// The client closed its side of the connection.
        case inputClosed

        /// What holding it costs against ``RequestOrder/holdLimit``.
        var bytes: Int {
            switch self {
            case .body(let bytes): bytes
            case .head: 1_024
            default: 0
            }
        }
    }

    /// The exchange under way: whether a request is still arriving and whether its response is
    /// still going out.
    enum Exchange: Equatable {
        case idle
        /// A request is arriving and has not been answered.
        case requestAndResponse
        /// The request has arrived in full; its response has not ended.
        case response
        /// The response ended before the request did (a refusal): the rest of the request comes.
        case request
    }

    /// A graceful stop's progress.
    enum Lifecycle: Equatable {
        case accepting
        /// Asked to stop mid-request: the request may finish, then no other is taken.
        case stoppingAfterRequest
        /// The last request is in: the connection closes when its response ends.
        case stoppingAfterResponse
        case stopped
    }

    enum ArrivalAction: Equatable {
        case deliver
        /// Deliver it, then close: it ended the last request of a graceful stop, answered already.
        case deliverThenClose
        /// Hold it (or, from ``release(_:)``, keep holding it).
        case hold
        /// Arrived after the connection stopped taking requests.
        case drop
    }

    /// A response part, as far as the order is concerned.
    enum ResponsePart {
        case head
        case body
        case end
    }

    enum ResponseAction: Equatable {
        case write
        /// Write the head saying the connection closes after this response.
        case writeClosing
        /// Write the end, then hand on held arrivals (``release(_:)``), then read if ``resumeReading()``.
        case writeEndThenRelease
        /// Write the end, then close the connection.
        case writeEndThenClose
    }

    /// Bytes held before reading the socket stops.
    let holdLimit: Int
    private(set) var exchange = Exchange.idle
    private(set) var lifecycle = Lifecycle.accepting
    /// Arrivals held, and what they cost.
    private(set) var held = 0
    private(set) var heldBytes = 0
    /// A read was asked for and not passed on.
    private(set) var readWaiting = false

    init(holdLimit: Int = 64 * 1_024) {
        self.holdLimit = holdLimit
    }

    /// Whether requests are still taken: not once a graceful stop has its last request.
    private var takesArrivals: Bool { lifecycle == .accepting || lifecycle == .stoppingAfterRequest }

    /// Something arrived from the client.
    mutating func arrived(_ arrival: Arrival) -> ArrivalAction {
        guard takesArrivals else { return .drop }
        // A half-close goes on at once unless requests wait before it: a client that closes
        // its side during a call has given up on it (nginx answers that with 499 too).
        if held > 0 || (exchange == .response && !arrival.isInputClosed) {
            held += 1
            heldBytes += arrival.bytes
            return .hold
        }
        return deliver(arrival)
    }

    /// Whether the oldest held arrival goes on now (it is then no longer counted as held) or stays.
    mutating func release(_ arrival: Arrival) -> ArrivalAction {
        guard held > 0, exchange != .response || arrival.isInputClosed, takesArrivals else { return .hold }
        held -= 1
        heldBytes -= arrival.bytes
        return deliver(arrival)
    }

    /// The order's state as `arrival` goes on.
    private mutating func deliver(_ arrival: Arrival) -> ArrivalAction {
        switch arrival {
        case .head:
            if exchange == .idle { exchange = .requestAndResponse }
        case .end:
            exchange = switch exchange {
            case .requestAndResponse: .response
            case .request, .idle, .response: .idle
            }
            if lifecycle == .stoppingAfterRequest {
                lifecycle = exchange == .idle ? .stopped : .stoppingAfterResponse
                held = 0
                heldBytes = 0
                if lifecycle == .stopped { return .deliverThenClose }
            }
        case .parserError:
            // Whatever was arriving is now a request to answer.
            if exchange == .idle || exchange == .request { exchange = .response }
        case .body, .inputClosed:
            break
        }
        return .deliver
    }

    /// The connection asks to read from the socket: true to pass the read on.
    mutating func read() -> Bool {
        guard takesArrivals else { return false }
        guard heldBytes < holdLimit else {
            readWaiting = true
            return false
        }
        return true
    }

    /// After held arrivals went on: true to pass on the read that waited.
    mutating func resumeReading() -> Bool {
        guard readWaiting, heldBytes < holdLimit, takesArrivals else { return false }
        readWaiting = false
        return true
    }

    /// A response part goes out.
    mutating func responding(_ part: ResponsePart) -> ResponseAction {
        switch part {
        case .head:
            return lifecycle == .accepting ? .write : .writeClosing
        case .body:
            return .write
        case .end:
            exchange = switch exchange {
            case .requestAndResponse: .request
            case .response, .idle, .request: .idle
            }
            if lifecycle == .stoppingAfterResponse || (lifecycle == .stoppingAfterRequest && exchange == .idle) {
                lifecycle = .stopped
                return .writeEndThenClose
            }
            return .writeEndThenRelease
        }
    }

    /// A graceful stop was asked for: true to close the connection now.
    mutating func stop() -> Bool {
        guard lifecycle == .accepting else { return false }
        switch exchange {
        case .idle:
            lifecycle = .stopped
            return true
        case .response:
            // The request is in; nothing held will be answered.
            lifecycle = .stoppingAfterResponse
            held = 0
            heldBytes = 0
            return false
        case .requestAndResponse, .request:
            lifecycle = .stoppingAfterRequest
            return false
        }
    }
}

extension RequestOrder.Arrival {
    /// Whether it is the client's half-close.
    var isInputClosed: Bool {
        if case .inputClosed = self { return true }
        return false
    }
}
