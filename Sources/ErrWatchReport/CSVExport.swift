import ErrWatchCore
import ErrWatchStore

/// A CSV report read and written a chunk at a time, so that any size streams out with flat
/// memory: `errwatch export` and `GET /api/v1/export.csv`.
///
/// It is a class with a cursor that advances; one caller drives it, one chunk after another
/// (the export command's loop, or one response's writer), never two at once.
public final class CSVExport: @unchecked Sendable {
    /// The reports there are.
    public enum Kind: String, Sendable, CaseIterable {
        /// One row per recorded error, newest first.
        case events
        /// One row per bucket and group: calls, errors, error rate, and counts per error type.
        case rates
        /// One row per group: calls, errors, rate, retryable share, top codes, latency, change.
        case summary
        /// The alert history, newest first.
        case alerts
    }

    /// Rows per chunk of the events report.
    public static let pageSize = 5_000
    /// Buckets per chunk of the rates report.
    static let bucketsPerChunk: Int64 = 500

    private let store: Store
    private let kind: Kind
    private let filter: Filter
    private let dimensions: [Dimension]
    private let bucketMs: Int64
    private var started = false
    private var finished = false
    private var cursor: HistoryCursor?
    private var sliceStart: Int64
    private var types: [String] = []
    /// Rows written so far, the header not counted.
    public private(set) var rows = 0

    /// A report of `kind` over `filter`, grouped `by` (rates, summary; summary defaults to
    /// app and model), in buckets of `bucketMs` (rates; whole minutes).
    public init(store: Store, kind: Kind, filter: Filter, by dimensions: [Dimension], bucketMs: Int64) {
        self.store = store
        self.kind = kind
        self.filter = filter
        self.dimensions = kind == .summary && dimensions.isEmpty ? [.app, .model] : dimensions
        self.bucketMs = bucketMs
        sliceStart = filter.since - (filter.since % bucketMs)
    }

    /// The next piece of the file, the header first; nil once everything is out.
    public func nextChunk() throws -> String? {
        guard !finished else { return nil }
        var text = ""
        var lines = 0
        let csv = CSVWriter { line in
            text += line
            lines += 1
        }
        if !started {
            started = true
            if kind == .rates { types = try store.errorTypes(among: filter.types) }
            csv.header(header)
            lines -= 1
        }
        defer { rows += lines }
        switch kind {
        case .events: try events(csv)
        case .rates: try rates(csv)
        case .summary: try summary(csv)
        case .alerts: try alerts(csv)
        }
        return text
    }

    private var header: [String] {
        switch kind {
        case .events: Report.errorColumns
        case .rates: ["bucket"] + dimensions.map(\.rawValue) + ["calls", "errors", "error_rate"] + types
        case .summary: dimensions.map(\.rawValue) + Self.summaryColumns
        case .alerts: Report.alertHistory([]).columns
        }
    }

    static let summaryColumns = [
        "calls", "errors", "error_rate", "retryable_share", "top_codes", "p50_latency_ms", "p95_latency_ms",
        "previous_error_rate", "change",
    ]

    private func write(_ report: Report, _ csv: CSVWriter) {
        for row in report.rows { csv.row(row.map(\.csv)) }
    }

    private func events(_ csv: CSVWriter) throws {
        let page = try store.errors(filter, limit: Self.pageSize, after: cursor)
        write(Report.errors(page.events), csv)
        cursor = page.next
        finished = page.next == nil
    }

    private func alerts(_ csv: CSVWriter) throws {
        let rows = try store.alertHistory(since: filter.since, until: filter.until, limit: .max)
        write(Report.alertHistory(rows.map(\.event)), csv)
        finished = true
    }

    private func rates(_ csv: CSVWriter) throws {
        let sliceEnd = min(sliceStart + Self.bucketsPerChunk * bucketMs, filter.until)
        var slice = filter
        slice.since = max(filter.since, sliceStart)
        slice.until = sliceEnd
        let rows = try store.ratesByType(slice, bucketMs: bucketMs, by: dimensions)
        for row in rows {
            let calls = row.calls
            let errors = row.errorsByType.values.reduce(0, +)
            csv.row([Cell.time(row.bucket).csv] + zip(dimensions, row.group).map { Cell.group($0, $1).csv }
                + [Cell.integer(calls).csv, Cell.integer(errors).csv, Cell.rate(calls > 0 ? Double(errors) / Double(calls) : nil).csv]
                + types.map { Cell.integer(row.errorsByType[$0] ?? 0).csv })
        }
        sliceStart = sliceEnd
        finished = sliceEnd >= filter.until
    }

    private func summary(_ csv: CSVWriter) throws {
        for row in try store.summary(filter, by: dimensions) {
            let rate = row.calls > 0 ? Double(row.errors) / Double(row.calls) : nil
            let previousRate = row.previousCalls > 0 ? Double(row.previousErrors) / Double(row.previousCalls) : nil
            // Rounded so that 0.1 - 0.01 reads 0.09, not 0.09000000000000001.
            let change = rate.flatMap { now in previousRate.map { ((now - $0) * 1e9).rounded() / 1e9 } }
            let codes = row.topCodes.map { "\($0.code.isEmpty ? $0.type : $0.code) (\($0.errors))" }.joined(separator: "; ")
            csv.row(zip(dimensions, row.group).map { Cell.group($0, $1).csv } + [
                Cell.integer(row.calls).csv, Cell.integer(row.errors).csv, Cell.rate(rate).csv,
                Cell.rate(row.errors > 0 ? Double(row.retryableErrors) / Double(row.errors) : nil).csv, Cell.text(codes).csv,
                Cell.number(row.p50LatencyMs?.rounded(), digits: 0).csv, Cell.number(row.p95LatencyMs?.rounded(), digits: 0).csv,
                Cell.rate(previousRate).csv, Cell.number(change, digits: 4).csv,
            ])
        }
        finished = true
    }
}

extension CSVExport {
    /// An export as a person asks for it, on the command line (`--report rates --by model`) or
    /// in a query string (`report=rates&by=model`): one parser for both, so both refuse the
    /// same things. `prefix` names parameters in messages (`--` or nothing).
    public convenience init(
        store: Store, report: String?, parameters: FilterParameters, by: String?, bucket: String?, now: Int64, prefix: String
    ) throws(ErrWatchError) {
        guard let report, let kind = Kind(rawValue: report) else {
            throw ErrWatchError(.invalidArgument,
                "\(report.map { "Unknown \(prefix)report '\($0)'" } ?? "Missing \(prefix)report"); give one of: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        let filter = try parameters.filter(now: now, prefix: prefix)
        let dimensions = try Dimension.parseList(by ?? "")
        let length = filter.until - filter.since
        var bucketMs = Report.defaultTrendBucket(for: length)
        if let bucket {
            guard let milliseconds = DurationText.milliseconds(bucket) else {
                throw ErrWatchError(.invalidArgument, "Invalid \(prefix)bucket '\(bucket)'; write it like 1m, 5m, 1h or 1d.")
            }
            try Report.checkTrendBucket(milliseconds, length: length, text: bucket, name: prefix + "bucket")
            bucketMs = milliseconds
        }
        self.init(store: store, kind: kind, filter: filter, by: dimensions, bucketMs: bucketMs)
    }
}
