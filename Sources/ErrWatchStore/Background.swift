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
    /// through ``WriteLockPriority``.
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

    #if os(Linux)
    /// The threads lowered now, and the scheduling each had.
    static let lowered = Mutex<[pid_t: Scheduling]>([:])

    /// The calling thread's id: on Linux a thread is its own scheduling entity, and
    /// `/proc/thread-self` links to `PID/task/TID`.
    static func currentThread() -> pid_t? {
        guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self") else { return nil }
        return link.split(separator: "/").last.flatMap { pid_t($0) }
    }

    /// A thread's policy and nice value.
    struct Scheduling: Sendable {
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

        /// The nice value first: the policy decides, and once it shows, all of it applies.
        func apply(to thread: pid_t) {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(thread), nice)
            // Neither policy has a static priority: 0 is the only one they take.
            var parameters = sched_param()
            _ = sched_setscheduler(thread, policy, &parameters)
        }
    }
    #endif
}

/// Priority inheritance, by hand, for one database's write lock: retention holds it on a thread
/// lowered by ``Background/withLowestPriority(_:)`` (``holding(grace:_:)``), the agent's
/// recording needs it at once (``needing(_:)``). Every copy of a ``Store`` shares one.
public final class WriteLockPriority: Sendable {
    #if os(Linux)
    /// A lowered thread's section holding the write lock.
    private struct Section: Sendable {
        var id: UInt64
        var normal: Background.Scheduling
        /// Whether it runs at its normal priority now.
        var lifted: Bool
    }

    /// The sections open now, by thread; how many threads need the lock now.
    private let sections = Mutex<(open: [pid_t: Section], next: UInt64, needing: Int)>(([:], 0, 0))
    #endif

    public init() {}

    /// Runs `body`, which holds a lock that threads of normal priority may wait for (a write
    /// transaction), on a thread lowered by ``Background/withLowestPriority(_:)``: while the agent's
    /// recording waits for that lock (``needing(_:)``), the thread runs at its normal
    /// priority, as a mutex with priority inheritance would; and should `body` outlast `grace`
    /// (starved of CPU by a busy machine, while another process waits for the file's lock), it
    /// gets its normal priority back until `body` returns. Elsewhere it just runs `body`.
    public func holding<T>(grace: Duration = .milliseconds(250), _ body: () throws -> T) rethrows -> T {
        #if os(Linux)
        guard let thread = Background.currentThread(), let normal = Background.lowered.withLock({ $0[thread] }) else { return try body() }
        let id = sections.withLock { sections -> UInt64? in
            guard sections.open[thread] == nil else { return nil }
            sections.next += 1
            // Recording already waits: the lock is to be held at normal priority from the start.
            let lift = sections.needing > 0
            if lift { normal.apply(to: thread) }
            sections.open[thread] = Section(id: sections.next, normal: normal, lifted: lift)
            return sections.next
        }
        guard let id else { return try body() }
        DispatchQueue.global().asyncAfter(deadline: .now() + .microseconds(Int(grace.secondsValue * 1_000_000))) { [self] in
            self.sections.withLock { sections in
                guard var section = sections.open[thread], section.id == id, !section.lifted else { return }
                section.normal.apply(to: thread)
                section.lifted = true
                sections.open[thread] = section
            }
        }
        defer {
            sections.withLock { sections in
                if let section = sections.open.removeValue(forKey: thread), section.lifted { Background.Scheduling.lowest.apply(to: thread) }
            }
        }
        #endif
        return try body()
    }

    /// Runs `body`, which needs the database's write lock now (the agent's recording): any
    /// retention section holding it, or taking it meanwhile, runs at normal priority until
    /// `body` returns, so recording waits for retention's work, never for its starvation.
    /// Costs an uncontended lock when no retention runs.
    public func needing<T>(_ body: () throws -> T) rethrows -> T {
        #if os(Linux)
        sections.withLock { sections in
            sections.needing += 1
            for (thread, var section) in sections.open where !section.lifted {
                section.normal.apply(to: thread)
                section.lifted = true
                sections.open[thread] = section
            }
        }
        defer { sections.withLock { $0.needing -= 1 } }
        #endif
        return try body()
    }
}
