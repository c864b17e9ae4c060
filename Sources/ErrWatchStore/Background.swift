import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Work that must never compete with recording or proxied traffic for a core: retention.
public enum Background {
    /// Runs `body` on the calling thread at the lowest CPU priority, then restores the thread's
    /// scheduling: under load the work gets a small share of a core, enough to progress, never
    /// enough to delay the proxy; on an idle machine it runs at full speed.
    ///
    /// On Linux the thread runs under `SCHED_IDLE` (and at nice 19, should that be refused): a
    /// thread of any other policy that wakes up takes the core at once, where nice 19 alone
    /// still lets the low-priority thread finish its time slice first, which is what showed
    /// in the proxy's p99 while a prune ran.
    public static func withLowestPriority<T>(_ body: () throws -> T) rethrows -> T {
        #if os(Linux)
        // On Linux a thread is its own scheduling entity, named by its id:
        // `/proc/thread-self` links to `PID/task/TID`.
        guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"),
              let thread = link.split(separator: "/").last.flatMap({ pid_t($0) })
        else { return try body() }
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        errno = 0
        let nice = getpriority(which, id_t(thread))
        let knownNice = errno == 0
        _ = setpriority(which, id_t(thread), 19)
        defer { if knownNice { _ = setpriority(which, id_t(thread), nice) } }
        let policy = sched_getscheduler(thread)
        var parameters = sched_param()
        // The normal policy has no static priority: 0 is the only one it takes, as does SCHED_IDLE.
        let idled = policy == schedOther && sched_setscheduler(thread, schedIdle, &parameters) == 0
        defer { if idled { _ = sched_setscheduler(thread, schedOther, &parameters) } }
        #endif
        return try body()
    }

    #if os(Linux)
    /// `SCHED_OTHER` and `SCHED_IDLE` from `<sched.h>` (the latter is not imported into Swift).
    private static let schedOther: Int32 = 0
    private static let schedIdle: Int32 = 5
    #endif
}
