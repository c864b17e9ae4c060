/// Which way an error rate is going, said with the numbers that decide it.
public struct Trend: Sendable, Hashable {
    /// The verdict.
    public enum Direction: String, Sendable, Codable { case rising, falling, flat }

    /// The error rate over the whole period (errors / calls), nil without calls.
    public var rate: Double?
    /// The error rate over the previous period of the same length, nil without calls.
    public var previousRate: Double?
    /// `rate - previousRate`, in rate units (0.01 is one percentage point).
    public var change: Double?
    /// The least-squares slope of the per-bucket rate, in rate units per hour.
    public var slopePerHour: Double?
    /// Rising, falling or flat.
    public var direction: Direction

    /// A change smaller than this (in rate units) is flat, whatever its relative size.
    public static let minimumChange = 0.001
    /// A change smaller than this fraction of the earlier rate is flat.
    public static let minimumRelativeChange = 0.10

    /// Summarises a series of `(bucketStart, calls, errors)` buckets of `bucketMs` each,
    /// against the totals of the period before it.
    ///
    /// The direction comes from the change against the previous period when there is one:
    /// rising or falling when the rate moved by at least 0.1 percentage point and by 10% of
    /// its earlier value; without a previous period, from the slope over the series by the
    /// same bounds applied to its fitted start and end.
    public static func summarize(
        series: [(start: Int64, calls: Int64, errors: Int64)], bucketMs: Int64,
        previousCalls: Int64, previousErrors: Int64
    ) -> Trend {
        let calls = series.reduce(0) { $0 + $1.calls }
        let errors = series.reduce(0) { $0 + $1.errors }
        let rate = calls > 0 ? Double(errors) / Double(calls) : nil
        let previousRate = previousCalls > 0 ? Double(previousErrors) / Double(previousCalls) : nil
        let slope = fittedSlope(series)
        let slopePerHour = slope.map { $0 * Double(Timestamp.hour) / Double(bucketMs) }

        var direction = Direction.flat
        if let rate, let previousRate {
            direction = verdict(from: previousRate, to: rate)
        } else if let slope, let first = series.first(where: { $0.calls > 0 }), let last = series.last(where: { $0.calls > 0 }) {
            let fittedIntercept = intercept(series, slope: slope)
            let startRate = fittedIntercept + slope * Double(series.firstIndex { $0.start == first.start }!)
            let endRate = fittedIntercept + slope * Double(series.firstIndex { $0.start == last.start }!)
            direction = verdict(from: max(0, startRate), to: max(0, endRate))
        }
        return Trend(
            rate: rate, previousRate: previousRate,
            change: rate.flatMap { current in previousRate.map { current - $0 } },
            slopePerHour: slopePerHour, direction: direction)
    }

    private static func verdict(from earlier: Double, to later: Double) -> Direction {
        let change = later - earlier
        guard abs(change) >= minimumChange, abs(change) >= minimumRelativeChange * earlier else { return .flat }
        return change > 0 ? .rising : .falling
    }

    /// The slope of the per-bucket rate over bucket index, buckets without calls left out.
    private static func fittedSlope(_ series: [(start: Int64, calls: Int64, errors: Int64)]) -> Double? {
        let points = points(series)
        guard points.count >= 2 else { return nil }
        let meanX = points.reduce(0) { $0 + $1.x } / Double(points.count)
        let meanY = points.reduce(0) { $0 + $1.y } / Double(points.count)
        let sxx = points.reduce(0) { $0 + ($1.x - meanX) * ($1.x - meanX) }
        let sxy = points.reduce(0) { $0 + ($1.x - meanX) * ($1.y - meanY) }
        return sxx > 0 ? sxy / sxx : nil
    }

    private static func intercept(_ series: [(start: Int64, calls: Int64, errors: Int64)], slope: Double) -> Double {
        let points = points(series)
        let meanX = points.reduce(0) { $0 + $1.x } / Double(points.count)
        let meanY = points.reduce(0) { $0 + $1.y } / Double(points.count)
        return meanY - slope * meanX
    }

    private static func points(_ series: [(start: Int64, calls: Int64, errors: Int64)]) -> [(x: Double, y: Double)] {
        series.enumerated().compactMap { index, bucket in
            bucket.calls > 0 ? (Double(index), Double(bucket.errors) / Double(bucket.calls)) : nil
        }
    }
}
