import ErrWatchStore
import Foundation
import Glibc
import Testing

/// Retention runs at the lowest CPU priority, and the thread it borrowed gets its own back.
@Suite struct BackgroundTests {
    /// The calling thread's nice value and scheduling policy, from `/proc/thread-self/stat`
    /// (fields 19 and 41).
    static func scheduling() throws -> (nice: Int, policy: Int) {
        let stat = try String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8)
        // The command name (field 2) is in parentheses and may hold spaces: count after it.
        let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
        return (try #require(Int(fields[16])), try #require(Int(fields[38])))
    }

    @Test func theWorkRunsUnderTheIdlePolicyAndTheSchedulingIsRestored() throws {
        let before = try Self.scheduling()
        let during = try Background.withLowestPriority { try Self.scheduling() }
        #expect(during.nice == 19)
        #expect(during.policy == 5, "SCHED_IDLE")
        let after = try Self.scheduling()
        #expect(after.nice == before.nice)
        #expect(after.policy == before.policy)
    }
}
