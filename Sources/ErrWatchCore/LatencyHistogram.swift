/// Latency counted in fixed buckets, as the call counts store it: enough to estimate p50 and
/// p95 over any range and group without keeping every call's latency.
public enum LatencyHistogram {
    /// The buckets' upper bounds in milliseconds; a call lands in the first bound at or above
    /// its latency, and slower calls in an overflow bucket past the last.
    public static let bounds: [Int64] = [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000]

    /// The buckets' column names in the count tables, the overflow bucket last.
    public static let columns = bounds.map { "latency_le_\($0)" } + ["latency_le_inf"]

    /// The bucket of `latencyMs`: an index into ``bounds``, or `bounds.count` for overflow.
    public static func bucket(_ latencyMs: Int64) -> Int {
        var index = 0
        while index < bounds.count, latencyMs > bounds[index] { index += 1 }
        return index
    }

    /// The `q` quantile (0…1) of calls counted per bucket (`counts`, one per bound, then the
    /// overflow), interpolated linearly within its bucket as Prometheus's `histogram_quantile`
    /// does; the last bound when it falls past it; nil without calls.
    public static func quantile(_ q: Double, counts: [Int64]) -> Double? {
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

    /// The calls counted in buckets wholly above `milliseconds` (a bucket the level falls inside
    /// counts for none): a lower bound on the calls slower than it.
    public static func calls(above milliseconds: Double, counts: [Int64]) -> Int64 {
        var slower: Int64 = 0
        for (index, count) in counts.enumerated() {
            let lower = index == 0 ? 0 : Double(bounds[index - 1])
            if lower >= milliseconds { slower += count }
        }
        return slower
    }
}
