import Foundation

/// UTC instants as errwatch stores them: integer milliseconds since 1970-01-01T00:00:00Z.
///
/// The formatting and parsing here is done by hand: it is on the path of every exported row,
/// it must not depend on the machine's time zone or locale, and it must round-trip exactly.
public enum Timestamp {
    /// Milliseconds in a minute, an hour and a day.
    public static let minute: Int64 = 60_000
    public static let hour: Int64 = 3_600_000
    public static let day: Int64 = 86_400_000

    /// The wall clock now, in milliseconds (rounded down): the one place errwatch reads it.
    /// Everything else takes `now` as a parameter or a closure defaulting to this, so that
    /// tests and replays can set the time.
    public static func now() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
    }

    /// The start of the `size`-long bucket that holds `milliseconds` (buckets align to 1970).
    public static func floor(_ milliseconds: Int64, to size: Int64) -> Int64 {
        let remainder = milliseconds % size
        return remainder < 0 ? milliseconds - remainder - size : milliseconds - remainder
    }

    /// ISO-8601 in UTC with milliseconds: `2026-11-25T23:56:57.123Z`.
    public static func iso8601(_ milliseconds: Int64) -> String {
        let days = floor(milliseconds, to: day) / day
        let inDay = milliseconds - days * day
        let (year, month, dayOfMonth) = civil(fromDays: days)
        let hours = inDay / hour, minutes = inDay % hour / minute
        let seconds = inDay % minute / 1_000, millis = inDay % 1_000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(dayOfMonth, 2))T\(pad(hours, 2)):\(pad(minutes, 2)):\(pad(seconds, 2)).\(pad(millis, 3))Z"
    }

    /// Parses an ISO-8601 time: `2026-11-25`, `2026-11-25T10:00`, `2026-11-25T10:00:00Z`,
    /// `2026-11-25 10:00:00.5+01:00`. A time without an offset is UTC.
    public static func parseISO8601(_ text: String) -> Int64? {
        let chars = Array(text.trimmingSpaces().utf8)
        var index = 0
        func number(_ digits: Int) -> Int64? {
            guard index + digits <= chars.count else { return nil }
            var value: Int64 = 0
            for offset in 0..<digits {
                let char = chars[index + offset]
                guard char >= 48, char <= 57 else { return nil }
                value = value * 10 + Int64(char - 48)
            }
            index += digits
            return value
        }
        func take(_ char: UInt8) -> Bool {
            guard index < chars.count, chars[index] == char else { return false }
            index += 1
            return true
        }
        guard let year = number(4), take(UInt8(ascii: "-")), let month = number(2),
              take(UInt8(ascii: "-")), let dayOfMonth = number(2),
              (1...12).contains(month), dayOfMonth >= 1, dayOfMonth <= daysIn(month: month, year: year)
        else { return nil }
        var result = days(fromCivil: year, month, dayOfMonth) * day
        guard index < chars.count else { return result }
        guard take(UInt8(ascii: "T")) || take(UInt8(ascii: "t")) || take(UInt8(ascii: " ")),
              let hours = number(2), take(UInt8(ascii: ":")), let minutes = number(2),
              hours < 24, minutes < 60
        else { return nil }
        result += hours * hour + minutes * minute
        if take(UInt8(ascii: ":")) {
            guard let seconds = number(2), seconds < 60 else { return nil }
            result += seconds * 1_000
            if take(UInt8(ascii: ".")) || take(UInt8(ascii: ",")) {
                var scale: Int64 = 100
                var digits = 0
                while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
                    result += Int64(chars[index] - 48) * scale
                    scale /= 10
                    index += 1
                    digits += 1
                }
                guard digits > 0 else { return nil }
            }
        }
        if index == chars.count || take(UInt8(ascii: "Z")) || take(UInt8(ascii: "z")) {
            return index == chars.count ? result : nil
        }
        let sign: Int64
        if take(UInt8(ascii: "+")) { sign = 1 } else if take(UInt8(ascii: "-")) { sign = -1 } else { return nil }
        guard let offsetHours = number(2), offsetHours < 24 else { return nil }
        _ = take(UInt8(ascii: ":"))
        guard let offsetMinutes = number(2), offsetMinutes < 60, index == chars.count else { return nil }
        return result - sign * (offsetHours * hour + offsetMinutes * minute)
    }

    /// Parses an IMF-fixdate as HTTP's `Retry-After` sends it: `Wed, 21 Oct 2015 07:28:00 GMT`.
    public static func parseHTTPDate(_ text: String) -> Int64? {
        let parts = text.trimmingSpaces().split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT",
              let dayOfMonth = Int64(parts[1]),
              let monthIndex = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                .firstIndex(of: String(parts[2])),
              let year = Int64(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, let h = Int64(clock[0]), let m = Int64(clock[1]), let s = Int64(clock[2]),
              h < 24, m < 60, s < 61, dayOfMonth >= 1, dayOfMonth <= daysIn(month: Int64(monthIndex + 1), year: year)
        else { return nil }
        return days(fromCivil: year, Int64(monthIndex + 1), dayOfMonth) * day + h * hour + m * minute + s * 1_000
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's civil-calendar algorithms (public domain), proleptic Gregorian.
    private static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
