import Foundation

/// When a digest is sent, and the period each one covers: every day (or every week, on one
/// weekday) at a wall-clock time in a time zone, covering the day or week before the send.
/// Daylight-saving changes follow the zone: a daily 09:00 digest stays at 09:00, and the day
/// it covers is 23 or 25 hours long when the clocks change.
public struct DigestSchedule: Sendable, Hashable {
    public enum Every: String, Sendable, Hashable, CaseIterable {
        case daily, weekly
    }

    public var every: Every
    /// The wall-clock hour (0–23) and minute (0–59) of the send.
    public var hour: Int
    public var minute: Int
    /// Weekly digests: the day, 1 (Sunday) to 7 (Saturday), as `Calendar` counts.
    public var weekday: Int
    public var timeZone: TimeZone

    /// The weekday names a configuration may use, Sunday first (`Calendar`'s order).
    public static let weekdays = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

    /// Every day (or week, on `weekday`) at `hour`:`minute` in `timeZone`.
    public init(every: Every, hour: Int, minute: Int, weekday: Int = 2, timeZone: TimeZone) {
        self.every = every
        self.hour = hour
        self.minute = minute
        self.weekday = weekday
        self.timeZone = timeZone
    }

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    /// The first send strictly after `now` (UTC milliseconds). A wall-clock time a
    /// daylight-saving change skips is sent at the first moment after it.
    public func next(after now: Int64) -> Int64 {
        var components = DateComponents(hour: hour, minute: minute, second: 0)
        if every == .weekly { components.weekday = weekday }
        let after = Date(timeIntervalSince1970: Double(now) / 1_000)
        let date = calendar.nextDate(after: after, matching: components, matchingPolicy: .nextTime) ?? after.addingTimeInterval(86_400)
        return Int64((date.timeIntervalSince1970 * 1_000).rounded())
    }

    /// The period a send at `at` covers: from the same wall-clock time a day (or a week)
    /// before, to `at`.
    public func period(endingAt at: Int64) -> Range<Int64> {
        let end = Date(timeIntervalSince1970: Double(at) / 1_000)
        let start = calendar.date(byAdding: .day, value: every == .daily ? -1 : -7, to: end) ?? end.addingTimeInterval(-86_400)
        return Int64((start.timeIntervalSince1970 * 1_000).rounded())..<at
    }

    /// The schedule in words: "daily at 09:00 Europe/Berlin", "weekly on monday at 08:30 UTC".
    public var description: String {
        let time = (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)"
        let day = every == .weekly ? " on \(Self.weekdays[(weekday - 1) % 7])" : ""
        // Foundation on Linux names UTC "GMT".
        let zone = timeZone.identifier == "GMT" ? "UTC" : timeZone.identifier
        return "\(every.rawValue)\(day) at \(time) \(zone)"
    }
}
