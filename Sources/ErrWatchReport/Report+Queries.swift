import ErrWatchCore
import ErrWatchStore

extension Cell {
    /// A group's value as a cell: statuses are numbers (0, no response, is null).
    public static func group(_ dimension: Dimension, _ value: String) -> Cell {
        guard dimension == .status else { return .text(value) }
        guard let status = Int64(value), status != 0 else { return .null }
        return .integer(status)
    }
}

extension Report {
    /// The field names of an error, in the order printed.
    /// The provider's own type and code follow errwatch's, with the fault and the retry delay the provider asked for.
    public static let errorColumns = ["ts", "app", "endpoint", "model", "status", "type", "code", "message", "retryable", "attempt", "latency_ms", "request_id", "time_to_headers_ms",
                                      "provider_type", "provider_code", "fault", "retry_after_ms", "upstream", "provider", "host"]

    /// The columns the table shows: what a person scans for on a terminal. JSON and CSV carry
    /// every field (``errorColumns``).
    static let tableColumns = ["ts", "app", "model", "status", "type", "code", "message"]

    /// A page of errors. `forTable` keeps the columns of ``tableColumns``, times to the second
    /// and messages to one line of 40 characters, so that a row fits a wide terminal.
    public static func errors(_ events: [ErrorEvent], forTable: Bool = false) -> Report {
        let report = Report(columns: errorColumns, rows: events.map { event in
            let outcome = event.outcome
            var message = event.error.message
            if forTable {
                message = String(message.map { $0.isNewline || $0 == "\t" ? " " : $0 })
                if message.count > 40 { message = String(message.prefix(39)) + "…" }
            }
            return [
                .time(outcome.timestamp), .text(outcome.app), .text(outcome.endpoint), .text(outcome.model),
                outcome.status.map { .integer(Int64($0)) } ?? .null,
                .text(event.error.type.rawValue), .text(event.error.code), .text(message),
                .bool(event.error.retryable), .integer(Int64(outcome.attempt)),
                outcome.latencyMs.map { .integer($0) } ?? .null, outcome.requestID.map { .text($0) } ?? .null,
                outcome.timeToHeadersMs.map { .integer($0) } ?? .null,
                .text(event.error.providerType), .text(event.error.providerCode), .text(event.error.fault.rawValue),
                event.error.retryAfterMs.map { .integer($0) } ?? .null,
                .text(outcome.upstream), .text(outcome.provider), .text(outcome.host),
            ]
        })
        guard forTable else { return report }
        let kept = tableColumns.compactMap { report.columns.firstIndex(of: $0) }
        return Report(columns: tableColumns, rows: zip(events, report.rows).map { event, row in
            kept.map { index in
                // A time to the second, without its date's year: the table's reader is looking at recent errors.
                report.columns[index] == "ts" ? .text(String(Timestamp.iso8601(event.outcome.timestamp).dropFirst(5).prefix(14).map { $0 == "T" ? " " : $0 })) : row[index]
            }
        })
    }

    /// Rates per group of `dimensions`.
    /// Rows read with timings (``Store/rates(_:by:timings:)``) get their latency and
    /// time-to-first-token percentiles too.
    public static func rates(_ rows: [RateRow], by dimensions: [Dimension]) -> Report {
        let timed = rows.contains { $0.timings != nil }
        let timingColumns = timed ? ["p50_latency_ms", "p95_latency_ms", "streams", "p50_first_token_ms", "p95_first_token_ms"] : []
        return Report(columns: dimensions.map(\.rawValue) + ["calls", "errors", "error_rate"] + timingColumns, rows: rows.map { row in
            var cells = zip(dimensions, row.group).map { Cell.group($0, $1) }
                + [.integer(row.calls), .integer(row.errors), .rate(row.errorRate)]
            if timed {
                let timings = row.timings
                cells += [milliseconds(timings?.p50LatencyMs), milliseconds(timings?.p95LatencyMs), .integer(timings?.streams ?? 0),
                          milliseconds(timings?.p50FirstTokenMs), milliseconds(timings?.p95FirstTokenMs)]
            }
            return cells
        })
    }

    /// An estimated duration, to the millisecond, or null.
    static func milliseconds(_ value: Double?) -> Cell {
        value.map { .integer(Int64($0.rounded())) } ?? .null
    }

    /// Every bucket of every series, one row each (the CSV form of a trend).
    public static func trendBuckets(_ series: [TrendSeries], by dimensions: [Dimension]) -> Report {
        Report(columns: dimensions.map(\.rawValue) + ["bucket", "calls", "errors", "error_rate"], rows: series.flatMap { one in
            one.points.map { point in
                zip(dimensions, one.group).map { Cell.group($0, $1) }
                    + [.time(point.start), .integer(point.calls), .integer(point.errors), .rate(point.errorRate)]
            }
        })
    }

    /// A trend as JSON: one object per series with its verdict and its points.
    public static func trendJSON(_ series: [TrendSeries], by dimensions: [Dimension], bucketMs: Int64) -> JSONOutput {
        .array(series.map { one in
            let trend = one.trend
            let points = one.points.map { point in
                JSONOutput.object([
                    ("bucket", Cell.time(point.start).json), ("calls", .integer(point.calls)),
                    ("errors", .integer(point.errors)), ("error_rate", .optional(point.errorRate)),
                ])
            }
            return .object(zip(dimensions, one.group).map { ($0.rawValue, Cell.group($0, $1).json) } + [
                ("bucket_ms", .integer(bucketMs)),
                ("error_rate", .optional(trend.rate)),
                ("previous_error_rate", .optional(trend.previousRate)),
                ("change", .optional(trend.change)),
                ("slope_per_hour", .optional(trend.slopePerHour)),
                ("direction", .string(trend.direction.rawValue)),
                ("points", .array(points)),
            ])
        })
    }

    /// Bucket lengths a trend's default is chosen from.
    public static let trendBucketChoices: [Int64] = [1, 5, 15, 30, 60, 180, 360, 720, 1_440, 10_080].map { $0 * Timestamp.minute }

    /// The smallest choice that splits `length` into at most 60 buckets.
    public static func defaultTrendBucket(for length: Int64) -> Int64 {
        trendBucketChoices.first { length / $0 <= 60 } ?? trendBucketChoices.last!
    }

    /// Checks a trend's bucket against its range; the message names the parameter `name`.
    public static func checkTrendBucket(_ bucketMs: Int64, length: Int64, text: String, name: String) throws(ErrWatchError) {
        guard bucketMs >= Timestamp.minute, bucketMs % Timestamp.minute == 0 else {
            throw ErrWatchError(.invalidArgument, "Invalid \(name) '\(text)'; counts are per minute, so give whole minutes such as 1m, 5m or 1h.")
        }
        guard length / bucketMs <= 10_000 else {
            throw ErrWatchError(.invalidArgument, "\(name) \(text) makes more than 10000 buckets over this range; choose a longer one.")
        }
    }
}
