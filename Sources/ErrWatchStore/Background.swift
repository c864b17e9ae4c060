import ErrWatchCore
import Foundation
import Synchronization
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
    /// in the proxy's p99 while a prune ran. Sections that hold the database's write lock go
    /// through ``holdingLock(grace:_:)``.
    public static func withLowestPriority<T>(_ body: () throws -> T) rethrows -> T {
        #if os(Linux)
        guard let thread = currentThread(), let normal = Scheduling.current(of: thread) else { return try body() }
        Scheduling.lowest.apply(to: thread)
        lowered.withLock { $0[thread] = normal }
        defer {
            lowered.withLock { $0[thread] = nil }
            normal.apply(to: thread)
        }
        #endif
        return try body()
    }

    /// Runs `body`, which holds a lock that threads of normal priority may wait for (a write
    /// transaction): on a thread lowered by ``withLowestPriority(_:)``, should `body` outlast
    /// `grace` (starved of CPU by a busy machine), the thread gets its normal priority back
    /// until `body` returns, so that the agent's recording waits `grace` plus the section's own
    /// work at most, never the time a starved thread would take. Elsewhere it just runs `body`.
    public static func holdingLock<T>(grace: Duration = .milliseconds(250), _ body: () throws -> T) rethrows -> T {
        #if os(Linux)
        guard let thread = currentThread(), let normal = lowered.withLock({ $0[thread] }) else { return try body() }
        // Whether the section is still running, and whether the lift happened.
        let section = Mutex((running: true, lifted: false))
        DispatchQueue.global().asyncAfter(deadline: .now() + .microseconds(Int(grace.secondsValue * 1_000_000))) {
            section.withLock { state in
                guard state.running else { return }
                normal.apply(to: thread)
                state.lifted = true
            }
        }
        defer {
            section.withLock { state in
                state.running = false
                if state.lifted { Scheduling.lowest.apply(to: thread) }
            }
        }
        #endif
        return try body()
    }

    #if os(Linux)
    /// The threads lowered now, and the scheduling each had.
    private static let lowered = Mutex<[pid_t: Scheduling]>([:])

    /// The calling thread's id: on Linux a thread is its own scheduling entity, and
    /// `/proc/thread-self` links to `PID/task/TID`.
    private static func currentThread() -> pid_t? {
        guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self") else { return nil }
        return link.split(separator: "/").last.flatMap { pid_t($0) }
    }

    /// A thread's policy and nice value.
    private struct Scheduling: Sendable {
        var policy: Int32
        var nice: Int32

        /// `SCHED_OTHER` and `SCHED_IDLE` from `<sched.h>` (the latter is not imported into Swift).
        static let other: Int32 = 0
        static let idle: Int32 = 5
        static let lowest = Scheduling(policy: idle, nice: 19)

        static func current(of thread: pid_t) -> Scheduling? {
            errno = 0
            let nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(thread))
            let policy = sched_getscheduler(thread)
            // Only the normal policy is changed: a thread already real-time or idle is left alone.
            guard errno == 0, policy == other else { return nil }
            return Scheduling(policy: policy, nice: nice)
        }

        func apply(to thread: pid_t) {
            // Neither policy has a static priority: 0 is the only one they take.
            var parameters = sched_param()
            _ = sched_setscheduler(thread, policy, &parameters)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(thread), nice)
        }
    }
    #endif
}
