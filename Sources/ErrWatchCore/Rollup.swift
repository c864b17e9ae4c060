/// The resolutions at which call counts are kept, and how a time range is read from them.
///
/// Minute rows are written as calls happen; hourly and daily rows are rolled up from them.
/// Each coarser level is complete below its watermark, so a range is read as whole days from
/// the daily table, whole hours from the hourly table, and the minutes at its edges.
public enum Rollup {
    /// One level of call counts.
    public enum Level: String, Sendable, CaseIterable {
        case minute, hourly, daily

        /// The bucket length of this level, in milliseconds.
        public var bucketMs: Int64 {
            switch self {
            case .minute: Timestamp.minute
            case .hourly: Timestamp.hour
            case .daily: Timestamp.day
            }
        }
    }

    /// A part of a range that one level answers: buckets starting in `[from, to)`.
    public struct Segment: Sendable, Hashable {
        public var level: Level
        public var from: Int64
        public var to: Int64

        /// Buckets of `level` starting in `[from, to)`.
        public init(level: Level, from: Int64, to: Int64) {
            self.level = level
            self.from = from
            self.to = to
        }
    }

    /// The segments that together cover the minute buckets starting in `[since, until)`,
    /// coarsest first, using a level only below its watermark and only where its buckets fit
    /// whole into the range and into `alignTo` (the caller's own bucket, when it groups by one).
    /// Before `minutesFrom` the minute rows are gone (retention keeps them for less long than the
    /// rollups): a part of an hour there is read as its whole hour, from the hourly level.
    public static func segments(since: Int64, until: Int64, hourlyUntil: Int64, dailyUntil: Int64, alignTo: Int64? = nil,
                                minutesFrom: Int64 = .min) -> [Segment] {
        let start = ceil(since, to: Timestamp.minute)
        guard start < until else { return [] }
        var segments: [Segment] = []
        // Cover [start, until) from the middle out: the daily core, then hourly around it, then minutes.
        func usable(_ level: Level) -> Bool {
            alignTo.map { $0 % level.bucketMs == 0 } ?? true
        }
        var middle: (Int64, Int64)? = nil
        if usable(.daily) {
            let from = ceil(start, to: Timestamp.day)
            let to = Timestamp.floor(min(until, dailyUntil), to: Timestamp.day)
            if from < to {
                segments.append(Segment(level: .daily, from: from, to: to))
                middle = (from, to)
            }
        }
        var minuteRanges: [(Int64, Int64)] = []
        let gaps = middle.map { [(start, $0.0), ($0.1, until)] } ?? [(start, until)]
        for (gapFrom, gapTo) in gaps where gapFrom < gapTo {
            if usable(.hourly) {
                let from = ceil(gapFrom, to: Timestamp.hour)
                let to = Timestamp.floor(min(gapTo, hourlyUntil), to: Timestamp.hour)
                if from < to {
                    segments.append(Segment(level: .hourly, from: from, to: to))
                    minuteRanges.append((gapFrom, from))
                    minuteRanges.append((to, gapTo))
                    continue
                }
            }
            minuteRanges.append((gapFrom, gapTo))
        }
        for (from, to) in minuteRanges where from < to {
            let gone = min(to, minutesFrom)
            if from < gone, usable(.hourly) {
                segments.append(Segment(level: .hourly, from: Timestamp.floor(from, to: Timestamp.hour), to: ceil(gone, to: Timestamp.hour)))
                if gone < to { segments.append(Segment(level: .minute, from: gone, to: to)) }
            } else {
                segments.append(Segment(level: .minute, from: from, to: to))
            }
        }
        return segments
    }

    /// The smallest multiple of `size` at or after `value`.
    public static func ceil(_ value: Int64, to size: Int64) -> Int64 {
        let floor = Timestamp.floor(value, to: size)
        return floor == value ? value : floor + size
    }
}
