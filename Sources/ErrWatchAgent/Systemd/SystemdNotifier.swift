import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Tells systemd how the agent is doing, over the `sd_notify` datagram protocol: a line
/// `KEY=VALUE` per state, sent to the Unix datagram socket named by `$NOTIFY_SOCKET` (a path,
/// or `@name` in the abstract namespace). Implemented directly (no libsystemd): one
/// `sendto(2)` per message. Without `$NOTIFY_SOCKET` (not under systemd) there is no notifier.
public struct SystemdNotifier: Sendable {
    /// The socket's address as systemd gave it.
    public let socketPath: String

    /// The notifier `environment` describes, or nil when not run by systemd with `Type=notify`.
    public init?(environment: [String: String]) {
        guard let path = environment["NOTIFY_SOCKET"], path.hasPrefix("/") || path.hasPrefix("@"), path.utf8.count < 108 else {
            return nil
        }
        socketPath = path
    }

    /// Sends `state` (`READY=1`, `STOPPING=1`, `WATCHDOG=1`, …; several separated by newlines).
    /// Best effort, as sd_notify is: returns whether the datagram was sent.
    @discardableResult
    public func send(_ state: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // the abstract namespace
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout.offset(of: \sockaddr_un.sun_path)! + path.count)
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, 0, socketAddress, length) }
            }
        }
        return sent == bytes.count
    }

    /// `RELOADING=1` with the monotonic time systemd asks for (it matches the reload to its
    /// `READY=1`).
    public static var reloading: String {
        // Dispatch's clock is CLOCK_MONOTONIC on Linux, the clock systemd means.
        "RELOADING=1\nMONOTONIC_USEC=\(DispatchTime.now().uptimeNanoseconds / 1_000)"
    }

    /// How often systemd wants `WATCHDOG=1` (half its `WatchdogSec=`), when it watches this
    /// process: `$WATCHDOG_USEC` set and `$WATCHDOG_PID`, if set, this process.
    public static func watchdogInterval(environment: [String: String]) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"], Int32(pid) != getpid() { return nil }
        return .microseconds(microseconds / 2)
    }
}

/// The agent's side of systemd's watchdog and stop: `WATCHDOG=1` every half `WatchdogSec=`
/// while the agent is healthy (every event loop runs a task, and the database writer has made
/// progress within `WatchdogSec=`; a wedged writer stops the pings, so systemd restarts the
/// agent), and `STOPPING=1` when a graceful stop begins.
public struct SystemdService: Service {
    let notifier: SystemdNotifier
    let watchdogInterval: Duration?
    let writerIsResponsive: @Sendable (Duration) -> Bool
    let logger: Logger

    /// A service for `notifier`, pinging every `watchdogInterval` (none without one) while
    /// `writerIsResponsive(within:)` holds.
    public init(notifier: SystemdNotifier, watchdogInterval: Duration?, logger: Logger,
                writerIsResponsive: @escaping @Sendable (Duration) -> Bool) {
        self.notifier = notifier
        self.watchdogInterval = watchdogInterval
        self.writerIsResponsive = writerIsResponsive
        self.logger = logger
    }

    public func run() async throws {
        if let interval = watchdogInterval {
            var warned = false
            // Pings keep their rhythm: the next is due an interval after the last was due, not
            // an interval after the checks finished (and, after a stall, an interval from now).
            var due = ContinuousClock.now
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                // A loop that cannot run this no-op task is wedged: no ping, as systemd should see.
                for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
                    _ = try? await loop.submit {}.get()
                }
                if writerIsResponsive(interval * 2) {
                    notifier.send("WATCHDOG=1")
                    warned = false
                } else if !warned {
                    logger.error("The database writer has made no progress for the watchdog's whole interval; not telling systemd the agent is alive")
                    warned = true
                }
                due = max(due + interval, .now + interval / 2)
                _ = try? await cancelWhenGracefulShutdown { [due] in try await Task.sleep(until: due, clock: .continuous) }
            }
        } else {
            try? await gracefulShutdown()
        }
        notifier.send("STOPPING=1")
    }
}
