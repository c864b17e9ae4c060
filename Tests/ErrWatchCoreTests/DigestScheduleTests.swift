import ErrWatchCore
import Foundation
import Testing

/// When digests go out and what each covers, in the zone's wall-clock time.
@Suite struct DigestScheduleTests {
    static func ms(_ iso: String) -> Int64 { Timestamp.parseISO8601(iso)! }
    static let berlin = TimeZone(identifier: "Europe/Berlin")!

    @Test func aDailyDigestIsSentAtItsLocalTimeAndCoversTheDayBefore() {
        let schedule = DigestSchedule(every: .daily, hour: 9, minute: 0, timeZone: Self.berlin)
        // 09:00 in Berlin is 08:00Z in winter.
        #expect(schedule.next(after: Self.ms("2026-11-30T07:59:59Z")) == Self.ms("2026-11-30T08:00:00Z"))
        // Strictly after: at the send time itself, the next one is a day later.
        #expect(schedule.next(after: Self.ms("2026-11-30T08:00:00Z")) == Self.ms("2026-12-01T08:00:00Z"))
        #expect(schedule.period(endingAt: Self.ms("2026-11-30T08:00:00Z")) == Self.ms("2026-11-29T08:00:00Z")..<Self.ms("2026-11-30T08:00:00Z"))
        #expect(schedule.description == "daily at 09:00 Europe/Berlin")
    }

    /// The clocks go forward on 2026-03-29 in Berlin: 09:00 is 08:00Z before and 07:00Z after,
    /// and the day the digest covers is 23 hours long.
    @Test func daylightSavingKeepsTheWallClockTime() {
        let schedule = DigestSchedule(every: .daily, hour: 9, minute: 0, timeZone: Self.berlin)
        #expect(schedule.next(after: Self.ms("2026-03-28T12:00:00Z")) == Self.ms("2026-03-29T07:00:00Z"))
        let period = schedule.period(endingAt: Self.ms("2026-03-29T07:00:00Z"))
        #expect(period.lowerBound == Self.ms("2026-03-28T08:00:00Z") && period.count == 23 * 3_600_000)
    }

    @Test func aWeeklyDigestIsSentOnItsDayAndCoversTheWeekBefore() {
        let schedule = DigestSchedule(every: .weekly, hour: 8, minute: 30, weekday: 2, timeZone: TimeZone(identifier: "UTC")!)
        // 2026-12-01 is a Tuesday: the next Monday is 2026-12-07.
        #expect(schedule.next(after: Self.ms("2026-12-01T10:00:00Z")) == Self.ms("2026-12-07T08:30:00Z"))
        #expect(schedule.period(endingAt: Self.ms("2026-12-07T08:30:00Z")).lowerBound == Self.ms("2026-11-30T08:30:00Z"))
        #expect(schedule.description == "weekly on monday at 08:30 UTC")
    }
}
