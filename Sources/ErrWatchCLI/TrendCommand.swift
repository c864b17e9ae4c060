import ArgumentParser
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore

/// `errwatch trend`: the error rate over time and which way it is going.
struct TrendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trend",
        abstract: "Prints calls, errors and the error rate per time bucket, and the direction of the rate.",
        discussion: helpText("""
            After each series comes its verdict, with the numbers behind it: the rate against the
            previous period of the same length, and the least-squares slope of the rate per hour.
            A change counts as rising or falling when it is at least 0.1 percentage point and 10%
            of the earlier rate; otherwise the rate is flat.

            Examples:
              errwatch trend --since 24h
              errwatch trend --since 7d --bucket 1h --by model --type rate_limit_error
            """))

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions
    @OptionGroup var range: RangeFilterOptions
    @Option(help: ArgumentHelp("Bucket length, whole minutes (default: chosen for at most 60 buckets).", valueName: "duration"))
    var bucket: String?
    @Option(help: ArgumentHelp("One series per group of these dimensions (comma list).", valueName: "dimensions"))
    var by = ""

    func run() async throws {
        let context = CommandContext.current
        let filter = try makeFilter(range.parameters, now: context.now())
        let groups: [Dimension]
        do { groups = try Dimension.parseList(by) } catch { throw ValidationError(error) }
        let bucketMs = try bucket.map { try parseDuration($0, option: "--bucket") } ?? Report.defaultTrendBucket(for: filter.until - filter.since)
        do {
            try Report.checkTrendBucket(bucketMs, length: filter.until - filter.since, text: bucket ?? "", name: "--bucket")
        } catch {
            throw ValidationError(error)
        }
        let store = try database.openForReading()
        let series = try store.trend(filter, bucketMs: bucketMs, by: groups)
        try context.noteRetention(store, since: filter.since, reading: [.rollups, .minuteCounts])
        let period = DurationText.format(filter.until - filter.since)

        switch output.format {
        case .csv:
            Report.trendBuckets(series, by: groups).render(.csv, to: context.standardOutput)
        case .json:
            context.print(Report.trendJSON(series, by: groups, bucketMs: bucketMs).text(.lines))
        case .table:
            // Rows of zeros say nothing: say what the range is missing instead.
            if series.allSatisfy({ $0.points.allSatisfy { $0.calls == 0 } }) {
                context.print(try noCallsHint(store, since: filter.since, until: filter.until, withSince: true))
                return
            }
            for (index, one) in series.enumerated() {
                if index > 0 { context.print() }
                if !groups.isEmpty {
                    context.print(zip(groups, one.group).map { "\($0.rawValue)=\($1.isEmpty ? "-" : $1)" }.joined(separator: " "))
                }
                let bars = Format.sparkline(one.points.map(\.errorRate))
                Report(
                    columns: ["bucket", "calls", "errors", "error_rate", "rate"],
                    rows: zip(one.points, bars).map { point, bar in
                        [.time(point.start), .integer(point.calls), .integer(point.errors), .rate(point.errorRate), .text(bar)]
                    }
                ).render(.table, to: context.standardOutput)
                context.print(Self.verdict(one.trend, period: period) + "  " + bars.joined())
            }
        }
    }

    /// The direction in words, with its numbers.
    static func verdict(_ trend: Trend, period: String) -> String {
        var parts: [String] = []
        switch (trend.rate, trend.previousRate) {
        case let (rate?, previous?):
            let change = (rate - previous) * 100
            parts.append("Error rate \(Format.percent(rate)) against \(Format.percent(previous)) in the previous \(period): \(change >= 0 ? "+" : "")\(Format.fixed(change, digits: 2)) points")
        case let (rate?, nil):
            parts.append("Error rate \(Format.percent(rate)); no calls in the previous \(period) to compare with")
        default:
            parts.append("No calls in this period")
        }
        if let slope = trend.slopePerHour {
            parts.append("slope \(slope >= 0 ? "+" : "")\(Format.fixed(slope * 100, digits: 3)) points/h")
        }
        return parts.joined(separator: "; ") + ": \(trend.direction.rawValue.uppercased())."
    }
}
