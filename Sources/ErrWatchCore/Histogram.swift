/// Durations counted in fixed buckets, as the call counts store them: enough to estimate a
/// percentile over any range and group without keeping every call's duration.
///
/// Two are kept: ``latency``, the whole call, and ``firstToken``, the time to a stream's first
/// content chunk, each with bounds dense where its values live.
public struct Histogram: Sendable, Hashable {
    /// The buckets' upper bounds in milliseconds; a value lands in the first bound at or above
    /// it, and larger ones in an overflow bucket past the last.
    public let bounds: [Int64]
    /// The buckets' column names in the count tables, the overflow bucket last.
    public let columns: [String]

    init(bounds: [Int64], column prefix: String) {
        self.bounds = bounds
        columns = bounds.map { "\(prefix)_le_\($0)" } + ["\(prefix)_le_inf"]
    }

    /// Call durations, 100 ms to 120 s: an estimate inside 250–500 ms is off by at most
    /// 125 ms, inside 10–30 s by at most 10 s (LLM calls that slow are judged in seconds).
    public static let latency = Histogram(
        bounds: [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000], column: "latency")

    /// Time to a stream's first content chunk, denser below 3 s where it lives: each bucket
    /// at most 1.5× its lower bound there, so a p95 of 1.2 s is read as 1–1.5 s.
    public static let firstToken = Histogram(
        bounds: [50, 100, 200, 300, 500, 750, 1_000, 1_500, 2_000, 3_000, 5_000, 10_000, 30_000], column: "first_token")

    /// How many buckets, the overflow included.
    public var count: Int { bounds.count + 1 }

    /// The bucket of `milliseconds`: an index into ``bounds``, or `bounds.count` for overflow.
    public func bucket(_ milliseconds: Int64) -> Int {
        var index = 0
        while index < bounds.count, milliseconds > bounds[index] { index += 1 }
        return index
    }

    /// The `q` quantile (0…1) of values counted per bucket (`counts`, one per bound, then the
    /// overflow), interpolated linearly within its bucket as Prometheus's `histogram_quantile`
    /// does; the last bound when it falls past it; nil without values.
    public func quantile(_ q: Double, counts: [Int64]) -> Double? {
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = q * Double(total)
        var below: Int64 = 0
        for (index, count) in counts.prefix(bounds.count).enumerated() where count > 0 {
            if Double(below + count) >= rank {
                let lower = index == 0 ? 0 : Double(bounds[index - 1])
                let upper = Double(bounds[index])
                return lower + (upper - lower) * max(0, rank - Double(below)) / Double(count)
            }
            below += count
        }
        return Double(bounds[bounds.count - 1])
    }

    /// The values counted in buckets wholly above `milliseconds` (a bucket the level falls
    /// inside counts for none): a lower bound on the values above it.
    public func calls(above milliseconds: Double, counts: [Int64]) -> Int64 {
        var slower: Int64 = 0
        for (index, count) in counts.enumerated() {
            let lower = index == 0 ? 0 : Double(bounds[index - 1])
            if lower >= milliseconds { slower += count }
        }
        return slower
    }
}

/// Which duration a latency-kind rule or report judges.
public enum Timing: String, Sendable, Hashable, CaseIterable {
    /// The whole call, to the end of its response.
    case latency
    /// A stream's time to its first content chunk (streams that sent content only).
    case firstToken

    /// The buckets it is counted in.
    public var histogram: Histogram {
        switch self {
        case .latency: .latency
        case .firstToken: .firstToken
        }
    }
}
