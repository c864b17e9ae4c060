import ArgumentParser
import ErrWatchCore
import ErrWatchStore

/// `errwatch trend`: the error rate over time and which way it is going.
struct TrendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trend",
        abstract: "Prints calls, errors and the error rate per time bucket, and the direction of the rate.",
        discussion: """
            After each series comes its verdict, with the numbers behind it: the rate against the
            previous period of the same length, and the least-squares slope of the rate per hour.
            A change counts as rising or falling when it is at least 0.1 percentage point and 10%
            of the earlier rate; otherwise the rate is flat.

            Examples:
              errwatch trend --since 24h
              errwatch trend --since 7d --bucket 1h --by model --type rate_limit_error
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions
    @OptionGroup var range: RangeFilterOptions
    @Option(help: ArgumentHelp("Bucket length, whole minutes (default: chosen for at most 60 buckets).", valueName: "duration"))
    var bucket: String?
    @Option(help: ArgumentHelp("One series per group of these dimensions (comma list).", valueName: "dimensions"))
    var by = ""

    /// Bucket lengths the default is chosen from.
    static let bucketChoices: [Int64] = [1, 5, 15, 30, 60, 180, 360, 720, 1_440, 10_080].map { $0 * Timestamp.minute }

    /// The smallest choice that splits `length` into at most 60 buckets.
    static func defaultBucket(for length: Int64) -> Int64 {
        bucketChoices.first { length / $0 <= 60 } ?? bucketChoices.last!
    }

    func run() async throws {
        let context = CommandContext.current
        let filter = try range.filter(now: context.now())
        let groups: [Dimension]
        do { groups = try Dimension.parseList(by) } catch { throw ValidationError(error) }
        let bucketMs = try bucket.map { try parseDuration($0, option: "--bucket") } ?? Self.defaultBucket(for: filter.until - filter.since)
        guard bucketMs >= Timestamp.minute, bucketMs % Timestamp.minute == 0 else {
            throw ValidationError("Invalid --bucket '\(bucket ?? "")'; counts are per minute, so give whole minutes such as 1m, 5m or 1h.")
        }
        guard (filter.until - filter.since) / bucketMs <= 10_000 else {
            throw ValidationError("--bucket \(bucket ?? "") makes more than 10000 buckets over this range; choose a longer one.")
        }
        let series = try database.openForReading().trend(filter, bucketMs: bucketMs, by: groups)
        let period = DurationText.format(filter.until - filter.since)

        switch output.format {
        case .csv:
            let rows = series.flatMap { one in
                one.points.map { point in
                    zip(groups, one.group).map { RatesCommand.cell($0, $1) }
                        + [.time(point.start), .integer(point.calls), .integer(point.errors), .rate(point.errorRate)]
                }
            }
            Report(columns: groups.map(\.rawValue) + ["bucket", "calls", "errors", "error_rate"], rows: rows)
                .render(.csv, to: context.standardOutput)
        case .json:
            context.standardOutput(json(series, groups: groups, bucketMs: bucketMs))
        case .table:
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

    private func json(_ series: [TrendSeries], groups: [Dimension], bucketMs: Int64) -> String {
        var text = "[\n"
        for (index, one) in series.enumerated() {
            let group = zip(groups, one.group).map { "\(JSONText.quote($0.rawValue)): \(RatesCommand.cell($0, $1).json)" }
            let trend = one.trend
            let summary = [
                "\"bucket_ms\": \(bucketMs)",
                "\"error_rate\": \(Cell.rate(trend.rate).json)",
                "\"previous_error_rate\": \(Cell.rate(trend.previousRate).json)",
                "\"change\": \(Cell.rate(trend.change).json)",
                "\"slope_per_hour\": \(Cell.rate(trend.slopePerHour).json)",
                "\"direction\": \(JSONText.quote(trend.direction.rawValue))",
            ]
            let points = one.points.map { point in
                "{\"bucket\": \(Cell.time(point.start).json), \"calls\": \(point.calls), \"errors\": \(point.errors), \"error_rate\": \(Cell.rate(point.errorRate).json)}"
            }
            text += "  {" + (group + summary).joined(separator: ", ") + ",\n   \"points\": [\n    "
                + points.joined(separator: ",\n    ") + "]}" + (index == series.count - 1 ? "" : ",") + "\n"
        }
        return text + "]\n"
    }
}
