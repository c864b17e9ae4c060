import ErrWatchCore
import Testing

@Suite struct RollupTests {
    let minute = Timestamp.minute, hour = Timestamp.hour, day = Timestamp.day

    /// Every minute in `[since, until)` must be covered exactly once.
    func coveredMinutes(_ segments: [Rollup.Segment]) -> [Int64] {
        segments.flatMap { segment in
            stride(from: segment.from, to: segment.to, by: Int(minute)).map { $0 }
        }.sorted()
    }

    @Test func readsWholeDaysAndHoursFromRollupsAndEdgesFromMinutes() {
        let since: Int64 = 10 * day + 3 * hour + 17 * minute + 5_000
        let until: Int64 = 13 * day + 2 * hour + 30 * minute
        let firstMinute: Int64 = 10 * day + 3 * hour + 18 * minute
        let segments = Rollup.segments(since: since, until: until, hourlyUntil: 20 * day, dailyUntil: 20 * day)
        let expectedSegments: [Rollup.Segment] = [
            Rollup.Segment(level: .daily, from: 11 * day, to: 13 * day),
            Rollup.Segment(level: .hourly, from: 10 * day + 4 * hour, to: 11 * day),
            Rollup.Segment(level: .hourly, from: 13 * day, to: 13 * day + 2 * hour),
            Rollup.Segment(level: .minute, from: firstMinute, to: 10 * day + 4 * hour),
            Rollup.Segment(level: .minute, from: 13 * day + 2 * hour, to: until),
        ]
        #expect(segments == expectedSegments)
        let expected = Array(stride(from: firstMinute, to: until, by: Int(minute)))
        #expect(coveredMinutes(segments) == expected)
    }

    @Test func neverReadsARollupPastItsWatermark() {
        let segments = Rollup.segments(since: 0, until: 3 * day, hourlyUntil: 2 * day + 5 * hour + 30 * minute, dailyUntil: day)
        #expect(segments.allSatisfy { $0.level != .daily || $0.to <= day })
        #expect(segments.allSatisfy { $0.level != .hourly || $0.to <= 2 * day + 5 * hour })
        #expect(coveredMinutes(segments) == Array(stride(from: 0, to: 3 * day, by: Int(minute))))
    }

    @Test func usesMinutesOnlyWithoutRollups() {
        #expect(Rollup.segments(since: 0, until: 2 * day, hourlyUntil: 0, dailyUntil: 0) == [.init(level: .minute, from: 0, to: 2 * day)])
    }

    @Test func respectsTheCallersBucket() {
        let segments = Rollup.segments(since: 0, until: 2 * day, hourlyUntil: 2 * day, dailyUntil: 2 * day, alignTo: 5 * minute)
        #expect(segments == [.init(level: .minute, from: 0, to: 2 * day)])
        let hourly = Rollup.segments(since: 0, until: 2 * day, hourlyUntil: 2 * day, dailyUntil: 2 * day, alignTo: 6 * hour)
        #expect(hourly == [.init(level: .hourly, from: 0, to: 2 * day)])
    }

    @Test func anEmptyRangeHasNoSegments() {
        #expect(Rollup.segments(since: 5 * minute, until: 5 * minute, hourlyUntil: 0, dailyUntil: 0).isEmpty)
    }
}

@Suite struct TrendTests {
    let bucket = Timestamp.hour

    func series(_ pairs: [(Int64, Int64)]) -> [(start: Int64, calls: Int64, errors: Int64)] {
        pairs.enumerated().map { (Int64($0.offset) * bucket, $0.element.0, $0.element.1) }
    }

    @Test func risingAgainstThePreviousPeriod() throws {
        let trend = Trend.summarize(series: series([(100, 2), (100, 4), (100, 6)]), bucketMs: bucket, previousCalls: 300, previousErrors: 6)
        #expect(trend.rate == 0.04)
        #expect(trend.previousRate == 0.02)
        #expect(abs(try #require(trend.change) - 0.02) < 1e-12)
        #expect(abs(try #require(trend.slopePerHour) - 0.02) < 1e-12)
        #expect(trend.direction == .rising)
    }

    @Test func fallingAndFlat() {
        #expect(Trend.summarize(series: series([(100, 1)]), bucketMs: bucket, previousCalls: 100, previousErrors: 5).direction == .falling)
        // 2.00% to 2.05%: under 0.1 point, so flat.
        #expect(Trend.summarize(series: series([(2_000, 41)]), bucketMs: bucket, previousCalls: 1_000, previousErrors: 20).direction == .flat)
        // 0.01% to 0.02% doubles, but is under 0.1 point: flat.
        #expect(Trend.summarize(series: series([(10_000, 2)]), bucketMs: bucket, previousCalls: 10_000, previousErrors: 1).direction == .flat)
    }

    @Test func usesTheSlopeWithoutAPreviousPeriod() {
        let trend = Trend.summarize(series: series([(100, 1), (0, 0), (100, 10)]), bucketMs: bucket, previousCalls: 0, previousErrors: 0)
        #expect(trend.previousRate == nil && trend.change == nil)
        #expect(trend.direction == .rising)
    }

    @Test func noCallsNoRate() {
        let trend = Trend.summarize(series: series([(0, 0), (0, 0)]), bucketMs: bucket, previousCalls: 0, previousErrors: 0)
        #expect(trend.rate == nil && trend.slopePerHour == nil && trend.direction == .flat)
    }
}
