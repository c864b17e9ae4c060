import ErrWatchStore
import Foundation
import Glibc
import Testing

/// Retention runs at the lowest CPU priority, and the thread it borrowed gets its own back.
@Suite struct BackgroundTests {
    /// The calling thread's nice value, from `/proc/thread-self/stat` (field 19).
    static func nice() throws -> Int {
        let stat = try String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8)
        // The command name (field 2) is in parentheses and may hold spaces: count after it.
        let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
        return try #require(Int(fields[16]))
    }

    @Test func theWorkRunsAtNiceNineteenAndThePriorityIsRestored() throws {
        let before = try Self.nice()
        let during = try Background.withLowestPriority { try Self.nice() }
        #expect(during == 19)
        #expect(try Self.nice() == before)
    }
}
