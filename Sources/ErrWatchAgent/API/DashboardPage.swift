import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// The dashboard page, live at `/` and as a self-contained report file: the same page and
/// charts, with the API's answers for a period embedded instead of fetched.
public enum DashboardPage {
    /// The page as the agent serves it.
    public static var html: [UInt8] { PackageResources.dashboard_html }

    /// The page for `[since, until)` with its data inside, for sharing: it opens anywhere,
    /// offline. `generatedAt` is printed on it.
    public static func report(store: Store, since: Int64, until: Int64, generatedAt: Int64) throws -> String {
        let filter = Filter(since: since, until: until)
        let bucket = Report.defaultTrendBucket(for: until - since)
        let codes = try store.rates(filter, by: [.type, .code, .fault])
        var latest: [(String, JSONOutput)] = []
        for row in codes.filter({ !$0.group[0].isEmpty }).sorted(by: { $0.errors > $1.errors }).prefix(8) {
            var narrowed = filter
            narrowed.types = [row.group[0]]
            narrowed.codes = [row.group[1]]
            if let event = try store.errors(narrowed, limit: 1).events.first, case .array(let objects) = Report.errors([event]).json {
                latest.append((row.group[0] + "/" + row.group[1], objects[0]))
            }
        }
        let alerts = try store.alerts().filter { alert in
            guard let start = alert.startsAt else { return false }
            return start < until && (alert.endsAt ?? .max) > since
        }
        let title = "\(Timestamp.iso8601(since)) to \(Timestamp.iso8601(until))"
        let report = JSONOutput.object([
            ("range", .string(DurationText.format(until - since))),
            ("title", .string(title)),
            ("generated", .string(Timestamp.iso8601(generatedAt))),
            ("overall", Report.trendJSON(try store.trend(filter, bucketMs: bucket, by: []), by: [], bucketMs: bucket)),
            ("byType", Report.trendJSON(try store.trend(filter, bucketMs: bucket, by: [.type]), by: [.type], bucketMs: bucket)),
            ("codes", Report.rates(codes, by: [.type, .code, .fault]).json),
            ("models", Report.rates(try store.rates(filter, by: [.provider, .model], timings: true), by: [.provider, .model]).json),
            ("apps", Report.rates(try store.rates(filter, by: [.app], timings: true), by: [.app]).json),
            ("hosts", Report.rates(try store.rates(filter, by: [.host], timings: true), by: [.host]).json),
            ("alerts", Report.alerts(alerts).json),
            ("latest", .object(latest)),
        ])
        // Inside a <script>, no "<" may appear at all: "</script>" ends it, and "<!--<script>"
        // (an app so named) changes how the browser reads the rest. In JSON, "<" can only be
        // inside a string, where \u003c means the same.
        let data = report.text(.lines).replacingOccurrences(of: "<", with: "\\u003c")
        let page = String(decoding: html, as: UTF8.self)
        guard let script = page.range(of: "<script>") else { return page }
        return page.replacingCharacters(in: script, with: "<script>window.ERRWATCH_REPORT = \(data);</script>\n<script>")
    }
}
