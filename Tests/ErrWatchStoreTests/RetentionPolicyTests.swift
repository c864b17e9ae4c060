import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

/// Retention by policy, in real database files: each kind cut at its own age, minute counts
/// only once rolled up (rates keep their totals), the size limit oldest-first, the space given
/// back, and queries told what is gone.
@Suite struct RetentionPolicyTests {
    let day = Timestamp.day
    let hour = Timestamp.hour

    /// 60 days of history up to `midnight`: each day at 10:30 one success (5 calls) and one
    /// error; rolled up to `midnight`.
    private func sixtyDays(_ store: Store) throws {
        var outcomes: [CallOutcome] = []
        for back in 1...60 {
            let at = midnight - Int64(back) * day + 10 * hour + 30 * Timestamp.minute
            outcomes += [success(at, count: 5), failure(at + Timestamp.minute)]
        }
        try store.record(outcomes)
        try store.rollUp(now: midnight)
    }

    @Test func eachKindIsCutAtItsOwnAgeAndRatesKeepTheirTotals() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let store = try Store.open(path: workspace.path("r.db"))
        try sixtyDays(store)
        let all = Filter(since: midnight - 61 * day, until: midnight)
        let lastWeek = Filter(since: midnight - 7 * day, until: midnight)
        #expect(try store.rates(all, by: [])[0].calls == 360)
        // Mid-hour, mid-day starts: these read partial hours from the minute level.
        let midHour = Filter(since: midnight - 20 * day + 10 * hour + 15 * Timestamp.minute, until: midnight - 20 * day + 10 * hour + 45 * Timestamp.minute)
        #expect(try store.rates(midHour, by: [])[0].calls == 6)

        var policy = RetentionPolicy()
        policy.errorsMs = 30 * day
        policy.minuteCountsMs = 7 * day
        policy.rollupsMs = 45 * day
        let dry = try store.prune(policy, now: midnight + hour, dryRun: true)
        #expect(try store.errors(all, limit: 1_000).events.count == 60)

        let result = try store.prune(policy, now: midnight + hour)
        #expect(result.cuts.map(\.kind) == [.errors, .minuteCounts, .rollups])
        // The dry run counted exactly what went.
        #expect(dry.cuts.map(\.rows) == result.cuts.map(\.rows) && dry.cuts.map(\.before) == result.cuts.map(\.before))
        #expect(result.cuts.map(\.before) == [midnight - 30 * day, midnight - 7 * day, midnight - 45 * day])

        // Errors: the 30 most recent days remain.
        let errors = try store.errors(all, limit: 1_000).events.map(\.outcome.timestamp)
        #expect(errors.count == 30 && errors.allSatisfy { $0 >= midnight - 30 * day })
        // Counts: 45 days remain, the older 38 of them from the rollups alone, with the same totals.
        #expect(try store.rates(all, by: [])[0].calls == 45 * 6)
        #expect(try store.rates(lastWeek, by: [])[0].calls == 7 * 6)
        // A partial hour before the minute horizon is read as its whole hour.
        #expect(try store.rates(midHour, by: [])[0].calls == 6)

        let horizons = try store.retentionHorizons()
        #expect(horizons == [.errors: midnight - 30 * day, .minuteCounts: midnight - 7 * day, .rollups: midnight - 45 * day])
        let notes = try store.retentionNotes(since: all.since, reading: [.errors, .rollups])
        #expect(notes.map(\.kind) == [.errors, .rollups])
        #expect(notes[0].text == "error rows before 2026-10-27T00:00:00.000Z were deleted by retention (retain_errors); none earlier are shown.")
        #expect(try store.retentionNotes(since: lastWeek.since, reading: [.errors, .rollups, .minuteCounts]).isEmpty)

        // Applied again, nothing more goes.
        #expect(try store.prune(policy, now: midnight + hour).rows == 0)
    }

    @Test func minuteCountsThatAreNotRolledUpYetStay() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let store = try Store.open(path: workspace.path("r.db"))
        try store.record([success(midnight - 20 * day, count: 3)])
        // No roll-up has run: the minute rows are the only copy.
        var policy = RetentionPolicy()
        policy.minuteCountsMs = day
        #expect(try store.prune(policy, now: midnight).rows == 0)
        #expect(try store.rates(Filter(since: midnight - 30 * day, until: midnight), by: [])[0].calls == 3)
    }

    @Test func overTheSizeLimitTheOldestErrorsGoFirstAndTheFileShrinks() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let path = workspace.path("big.db")
        let store = try Store.open(path: path)
        let message = String(repeating: "quota exceeded for this project; ", count: 20)
        var outcomes: [CallOutcome] = []
        for back in 1...20 {
            for n in 0..<400 {
                outcomes.append(failure(midnight - Int64(back) * day + Int64(n) * 1_000, message: "\(message)\(back)-\(n)"))
            }
        }
        try store.record(outcomes)
        try store.rollUp(now: midnight)
        try store.close()
        let reopened = try Store.open(path: path)
        let sizeBefore = try reopened.fileBytes()
        #expect(sizeBefore > 4 << 20)

        var policy = RetentionPolicy()
        (policy.errorsMs, policy.minuteCountsMs, policy.rollupsMs, policy.alertsMs) = (nil, nil, nil, nil)
        policy.maxBytes = sizeBefore / 2
        let result = try reopened.prune(policy, now: midnight)
        #expect(result.cuts.count == 1 && result.cuts[0].kind == .errors && result.cuts[0].bySize)
        // Oldest first: what is left is the most recent days, whole.
        let left = try reopened.errors(Filter(since: 0, until: midnight), limit: 10_000).events.map(\.outcome.timestamp)
        #expect(left.count % 400 == 0 && left.count < 8_000 && left.count >= 3_200)
        #expect(left.min()! == result.cuts[0].before)
        // The counts are untouched: rates over the whole range still see every call.
        #expect(try reopened.rates(Filter(since: 0, until: midnight), by: [])[0].calls == 8_000)
        // The file gave the space back.
        #expect(result.bytesAfter < sizeBefore * 3 / 4)
        let onDisk = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int64
        #expect(onDisk < sizeBefore * 3 / 4)
    }

    @Test func aPartOfAnHourBeforeTheMinuteHorizonIsReadFromItsWholeHour() {
        let horizon = midnight
        let segments = Rollup.segments(since: midnight - 2 * day + 10 * hour + 20 * Timestamp.minute, until: midnight + 30 * Timestamp.minute,
                                       hourlyUntil: midnight + hour, dailyUntil: midnight, minutesFrom: horizon)
        let levels = segments.map { "\($0.level) \(($0.from - midnight) / Timestamp.minute)..<\(($0.to - midnight) / Timestamp.minute)" }
        #expect(levels == ["daily -1440..<0", "hourly -2220..<-1440", "hourly -2280..<-2220", "minute 0..<30"])
    }
}
