import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Glibc
import Testing

/// Retention runs at the lowest CPU priority, gets its normal priority back while it holds the
/// database's write lock and recording needs it, or for long, and the thread it borrowed gets
/// its own scheduling back.
/// Each test runs on a thread of its own, since it changes that thread's scheduling.
@Suite struct BackgroundTests {
    struct Scheduling: Equatable {
        var nice: Int
        var policy: Int
        static let idle = 5
    }

    /// The calling thread's nice value and scheduling policy, from `/proc/thread-self/stat`
    /// (fields 19 and 41).
    static func scheduling() throws -> Scheduling {
        let stat = try String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8)
        // The command name (field 2) is in parentheses and may hold spaces: count after it.
        let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
        return Scheduling(nice: try #require(Int(fields[16])), policy: try #require(Int(fields[38])))
    }

    @Test func theWorkRunsUnderTheIdlePolicyAndTheSchedulingIsRestored() async throws {
        let (before, during, after) = try await Run.onThreadOfItsOwn {
            (try Self.scheduling(), try Background.withLowestPriority { try Self.scheduling() }, try Self.scheduling())
        }
        #expect(during == Scheduling(nice: 19, policy: Scheduling.idle))
        #expect(after == before)
    }

    @Test func aLockHeldLongerThanTheGraceIsHeldAtNormalPriorityThenLoweredAgain() async throws {
        let lock = WriteLockPriority()
        let (before, lifted, afterSection) = try await Run.onThreadOfItsOwn {
            let before = try Self.scheduling()
            return try Background.withLowestPriority {
                let lifted = try lock.holding(grace: .milliseconds(20)) { () throws -> Scheduling? in
                    // Busy, as a starved transaction would be, until the lift shows (or 10 s pass).
                    let deadline = ContinuousClock.now + .seconds(10)
                    while ContinuousClock.now < deadline {
                        let now = try Self.scheduling()
                        if now.policy != Scheduling.idle { return now }
                    }
                    return nil
                }
                return (before, lifted, try Self.scheduling())
            }
        }
        #expect(lifted == before, "the thread's own scheduling while the long section held the lock")
        #expect(afterSection == Scheduling(nice: 19, policy: Scheduling.idle))
    }

    @Test func aShortSectionStaysLoweredAndOneOutsideRetentionIsLeftAlone() async throws {
        let lock = WriteLockPriority()
        let (before, short, outside) = try await Run.onThreadOfItsOwn {
            let before = try Self.scheduling()
            let short = try Background.withLowestPriority { try lock.holding(grace: .seconds(60)) { try Self.scheduling() } }
            return (before, short, try lock.holding(grace: .zero) { try Self.scheduling() })
        }
        #expect(short == Scheduling(nice: 19, policy: Scheduling.idle))
        #expect(outside == before)
    }

    @Test func recordingThatNeedsTheLockLiftsTheSectionHoldingIt() async throws {
        let lock = WriteLockPriority()
        let entered = DispatchSemaphore(value: 0)
        let holder = Task { try await Run.onThreadOfItsOwn { () throws -> (Scheduling, Scheduling?) in
            let before = try Self.scheduling()
            let lifted = try Background.withLowestPriority {
                // A grace of a minute: only recording's need can lift it within the test.
                try lock.holding(grace: .seconds(60)) { () throws -> Scheduling? in
                    entered.signal()
                    let deadline = ContinuousClock.now + .seconds(10)
                    while ContinuousClock.now < deadline {
                        let now = try Self.scheduling()
                        if now.policy != Scheduling.idle { return now }
                    }
                    return nil
                }
            }
            return (before, lifted)
        } }
        try await Run.onThreadOfItsOwn {
            entered.wait()
            lock.needing {}
        }
        let (before, lifted) = try await holder.value
        #expect(lifted == before, "the holder's own scheduling once recording needed the lock")
    }

    @Test func aSectionTakingTheLockWhileRecordingNeedsItStartsLifted() async throws {
        let lock = WriteLockPriority()
        let needing = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let recorder = Task { try await Run.onThreadOfItsOwn {
            lock.needing {
                needing.signal()
                done.wait()
            }
        } }
        let (before, inside) = try await Run.onThreadOfItsOwn {
            needing.wait()
            defer { done.signal() }
            let before = try Self.scheduling()
            return (before, try Background.withLowestPriority { try lock.holding(grace: .seconds(60)) { try Self.scheduling() } })
        }
        try await recorder.value
        #expect(inside == before)
    }
}
