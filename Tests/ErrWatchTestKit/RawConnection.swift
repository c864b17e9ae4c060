import Foundation

/// A raw client socket on 127.0.0.1, for tests that must send what an HTTP client library
/// would not: half a request, pipelined requests, a stalled body.
public final class RawConnection: Sendable {
    public let descriptor: Int32

    /// A connection to `port` on 127.0.0.1.
    public init(port: Int) throws {
        descriptor = try Self.connected(port: port)
    }

    /// Sends all of `text`.
    public func send(_ text: String) { Self.sendAll(descriptor, text) }

    /// Whether the server closed its side: a read that does not wait returns end of file (or a reset).
    public func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        let count = recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT))
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    public func close() { Foundation.close(descriptor) }

    /// Sends `text` on a fresh connection and returns what comes back until the server closes.
    /// The blocking socket calls run on a thread of their own: on the cooperative pool they
    /// could hold every thread the servers' router needs to answer.
    public static func exchange(port: Int, _ text: String) async throws -> String {
        try await Run.onThreadOfItsOwn { try blockingExchange(port: port, text) }
    }

    private static func blockingExchange(port: Int, _ text: String) throws -> String {
        let descriptor = try connected(port: port)
        defer { Foundation.close(descriptor) }
        sendAll(descriptor, text)
        return receive(descriptor) { _ in false }
    }

    /// Sends `head` (which expects `100 Continue`), reads the interim answer (waiting at most
    /// 10 s), then sends `body` and reads until the server closes: the interim answer and the rest.
    public static func continueExchange(port: Int, head: String, body: String) async throws -> (interim: String, reply: String) {
        try await Run.onThreadOfItsOwn {
            let descriptor = try connected(port: port)
            defer { Foundation.close(descriptor) }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            sendAll(descriptor, head)
            let interim = receive(descriptor) { $0.contains("\r\n\r\n") }
            sendAll(descriptor, body)
            return (interim, receive(descriptor) { _ in false })
        }
    }

    private static func connected(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Foundation.close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        return descriptor
    }

    private static func sendAll(_ descriptor: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// What arrives until the server closes (or a receive times out), or until `enough` says so.
    private static func receive(_ descriptor: Int32, until enough: (String) -> Bool) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !enough(String(decoding: received, as: UTF8.self)) {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer.prefix(count)
        }
        return String(decoding: received, as: UTF8.self)
    }
}
