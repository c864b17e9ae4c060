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
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// The next datagram, or nil when none comes within `timeout`. Blocks the calling thread:
    /// call it off the cooperative pool (``next(within:)``).
    public func receive(timeout: Duration) -> String? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&poller, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4_096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }

    /// The next datagram within `timeout`, waited for on a thread of its own.
    public func next(within timeout: Duration) async -> String? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.receive(timeout: timeout)) }.start()
        }
    }
}
