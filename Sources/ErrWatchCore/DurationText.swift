/// Parses and prints spans of time as people and rate-limit headers write them.
///
/// One grammar serves both: a sequence of `number unit` pairs such as `30s`, `5m`, `1h30m`,
/// `7d`, `250ms`, and the Go durations that OpenAI-compatible APIs send in
/// `x-ratelimit-reset-*` headers (`6m0s`, `20ms`, `1h2m3.5s`). Units: `ns`, `us`/`µs`, `ms`,
/// `s`, `m`, `h`, `d`, `w`. Values are whole milliseconds; finer parts are rounded up so a
/// reset of `500us` never reads as "now".
public enum DurationText {
    /// Milliseconds in each unit, longest spelling first so `ms` wins over `m`.
    private static let units: [(name: String, milliseconds: Double)] = [
        ("ns", 1e-6), ("us", 1e-3), ("µs", 1e-3), ("ms", 1), ("s", 1_000), ("m", 60_000),
        ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000),
    ]

    /// The milliseconds that `text` stands for, or nil when it is not a duration.
    public static func milliseconds(_ text: String) -> Int64? {
        var rest = Substring(text.trimmingSpaces())
        guard !rest.isEmpty else { return nil }
        if rest == "0" { return 0 }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1,
                  let value = Double(number)
            else { return nil }
            rest = rest.dropFirst(number.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.name) }) else { return nil }
            rest = rest.dropFirst(unit.name.count)
            total += value * unit.milliseconds
        }
        guard total.isFinite, total < 9.0e15 else { return nil }
        return Int64(total.rounded(.up))
    }

    /// Parses `text` or throws an error that quotes it and shows the accepted forms.
    public static func parse(_ text: String, what: String = "duration") throws(ErrWatchError) -> Int64 {
        guard let value = milliseconds(text) else {
            throw ErrWatchError(.invalidArgument, "Invalid \(what) '\(text)'; write it like 30s, 5m, 1h, 7d or 1h30m.")
        }
        return value
    }

    /// The shortest exact spelling of `milliseconds`: `90000` prints as `1m30s`, `0` as `0s`.
    public static func format(_ milliseconds: Int64) -> String {
        if milliseconds == 0 { return "0s" }
        var rest = milliseconds.magnitude
        var text = milliseconds < 0 ? "-" : ""
        for (name, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] as [(String, UInt64)] {
            let count = rest / size
            if count > 0 {
                text += "\(count)\(name)"
                rest -= count * size
            }
        }
        return text
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line ends.
    public func trimmingSpaces() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return Substring(self[first...last])
    }
}
