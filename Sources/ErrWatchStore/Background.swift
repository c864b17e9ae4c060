import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Work that must never compete with recording or proxied traffic for a core: retention.
public enum Background {
    /// Runs `body` on the calling thread at the lowest CPU priority (nice 19), then restores
    /// the thread's priority: under load the work gets a small share of a core, enough to
    /// progress, never enough to delay the proxy; on an idle machine it runs at full speed.
    public static func withLowestPriority<T>(_ body: () throws -> T) rethrows -> T {
        #if os(Linux)
        // On Linux a thread is its own scheduling entity, named by its id:
        // `/proc/thread-self` links to `PID/task/TID`.
        guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"),
              let thread = link.split(separator: "/").last.flatMap({ id_t($0) })
        else { return try body() }
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        errno = 0
        let before = getpriority(which, thread)
        let known = errno == 0
        _ = setpriority(which, thread, 19)
        defer { if known { _ = setpriority(which, thread, before) } }
        #endif
        return try body()
    }
}
