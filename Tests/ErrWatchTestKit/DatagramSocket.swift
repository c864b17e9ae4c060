import Foundation

/// A Unix datagram socket bound to a path: the test's side of a protocol such as systemd's
/// `sd_notify`, where the program under test sends datagrams to `$NOTIFY_SOCKET`.
public final class DatagramSocket: @unchecked Sendable {
    /// The path it is bound to.
    public let path: String
    private let descriptor: Int32

    /// A socket bound to a fresh path in the temporary folder.
    public init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8)).sock").path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        // The kernel stamps each datagram as it arrives: when it was sent, however late the
        // test (on a loaded machine) reads it.
        var on: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_TIMESTAMP, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// A datagram and when the kernel received it (seconds since 1970).
    public struct Datagram: Sendable {
        public var text: String
        public var arrived: Double
    }

    /// The next datagram, or nil when none comes within `timeout`. Blocks the calling thread:
    /// call it off the cooperative pool (``next(within:)``).
    public func receive(timeout: Duration) -> Datagram? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&poller, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4_096)
        var control = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { controlBytes in
                var vector = iovec(iov_base: data.baseAddress, iov_len: data.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBytes.baseAddress
                    message.msg_controllen = controlBytes.count
                    return recvmsg(descriptor, &message, 0)
                }
            }
        }
        guard count > 0 else { return nil }
        // The first control message: a cmsghdr, then (SCM_TIMESTAMP) a timeval.
        let header = MemoryLayout<cmsghdr>.size
        let arrived = control.withUnsafeBytes { raw -> Double in
            let level = raw.load(fromByteOffset: MemoryLayout<Int>.size, as: Int32.self)
            let type = raw.load(fromByteOffset: MemoryLayout<Int>.size + 4, as: Int32.self)
            guard level == SOL_SOCKET, type == SO_TIMESTAMP else { return Date().timeIntervalSince1970 }
            let seconds = raw.load(fromByteOffset: header, as: Int.self)
            let microseconds = raw.load(fromByteOffset: header + MemoryLayout<Int>.size, as: Int.self)
            return Double(seconds) + Double(microseconds) / 1_000_000
        }
        return Datagram(text: String(decoding: buffer[..<count], as: UTF8.self), arrived: arrived)
    }

    /// The next datagram's text within `timeout`, waited for on a thread of its own.
    public func next(within timeout: Duration) async -> String? {
        await nextStamped(within: timeout)?.text
    }

    /// The next datagram within `timeout`, with its arrival time.
    public func nextStamped(within timeout: Duration) async -> Datagram? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.receive(timeout: timeout)) }.start()
        }
    }
}
