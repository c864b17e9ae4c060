import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import GRDB
import Testing

/// A small history whose every figure is worked out by hand below.
struct History {
    static let minute = Timestamp.minute
    let store: Store
    // The six errors, oldest first.
    let e1 = failure(midnight - 100 * minute, message: "Rate limit reached for requests")
    let e2 = failure(midnight - 90 * minute, model: "claude")
    let e3 = failure(midnight - 50 * minute, status: 500, type: .internal, code: "", message: "Internal 100% failure_x", app: "batch")
    let e4 = failure(midnight - 40 * minute, status: 401, type: .authentication, code: "invalid_api_key", message: "Incorrect API key", retryable: false)
    let e5 = failure(midnight - 30 * minute, status: nil, type: .connection, code: "connection_failed", message: "Connection refused", app: "batch", model: "claude")
    let e6 = failure(midnight - 10 * minute, endpoint: "embeddings")

    init() throws {
        var store = try Store.inMemory()
        // Outcomes read back equal those written: they name no host, and the store's is empty.
        store.hostName = ""
        self.store = store
        try store.record([
            success(midnight - 100 * Self.minute, count: 40),                 // gpt-4o chat
            success(midnight - 90 * Self.minute, model: "claude", count: 20),
            success(midnight - 50 * Self.minute, app: "batch", count: 30),    // gpt-4o batch
            success(midnight - 30 * Self.minute, app: "batch", model: "claude", count: 4),
            e1, e2, e3, e4, e5, e6,
        ])
    }

    var window: Filter { Filter(since: midnight - 120 * Self.minute, until: midnight) }
}

@Suite struct HistoryQueryTests {
    let history: History
    init() throws { history = try History() }

    func errors(_ adjust: (inout Filter) -> Void = { _ in }) throws -> [CallOutcome] {
        var filter = history.window
        adjust(&filter)
        return try history.store.errors(filter, limit: 100).events.map(\.outcome)
    }

    @Test func listsNewestFirst() throws {
        #expect(try errors() == [history.e6, history.e5, history.e4, history.e3, history.e2, history.e1])
    }

    @Test func filtersByEachDimension() throws {
        #expect(try errors { $0.types = ["rate_limit_error"] } == [history.e6, history.e2, history.e1])
        #expect(try errors { $0.models = ["claude"] } == [history.e5, history.e2])
        #expect(try errors { $0.apps = ["batch"] } == [history.e5, history.e3])
        #expect(try errors { $0.statuses = [0] } == [history.e5])
        #expect(try errors { $0.statuses = [429, 500] } == [history.e6, history.e3, history.e2, history.e1])
        #expect(try errors { $0.codes = ["invalid_api_key", "connection_failed"] } == [history.e5, history.e4])
        #expect(try errors { $0.endpoints = ["/v1/embeddings"] } == [history.e6])
        #expect(try errors { $0.retryable = false } == [history.e4])
        #expect(try errors { $0.types = ["rate_limit_error"]; $0.models = ["claude"] } == [history.e2])
    }

    @Test func grepIsALiteralCaseInsensitiveSubstring() throws {
        #expect(try errors { $0.messageContains = "incorrect" } == [history.e4])
        #expect(try errors { $0.messageContains = "100%" } == [history.e3])
        #expect(try errors { $0.messageContains = "failure_x" } == [history.e3])
        #expect(try errors { $0.messageContains = "_" } == [history.e3])
        #expect(try errors { $0.messageContains = "'; DROP TABLE error_events; --" } == [])
    }

    @Test func theRangeIncludesItsStartAndExcludesItsEnd() throws {
        #expect(try errors { $0.since = history.e3.timestamp; $0.until = history.e5.timestamp } == [history.e4, history.e3])
    }

    @Test func pagesByKeyWithoutLosingOrRepeatingRows() throws {
        var filter = history.window
        filter.since = midnight - 200 * History.minute
        // Five more errors sharing one timestamp: only the id tells them apart.
        let tied = (0..<5).map { failure(midnight - 60 * History.minute, code: "tied_\($0)") }
        try history.store.record(tied)
        var seen: [String] = []
        var cursor: HistoryCursor?
        var pages = 0
        repeat {
            let page = try history.store.errors(filter, limit: 2, after: cursor)
            seen += page.events.map { $0.error.code + "@\($0.outcome.timestamp)" }
            cursor = page.next
            pages += 1
            #expect(page.events.count <= 2)
        } while cursor != nil
        #expect(pages == 6)
        #expect(seen.count == 11 && Set(seen).count == 11)
        let all = try history.store.errors(filter, limit: 100).events.map { $0.error.code + "@\($0.outcome.timestamp)" }
        #expect(seen == all)
    }
}

@Suite struct RateQueryTests {
    let history: History
    init() throws { history = try History() }

    @Test func ratesPerModelWithMostErrorsFirst() throws {
        let rows = try history.store.rates(history.window, by: [.model])
        #expect(rows.map(\.group) == [["gpt-4o"], ["claude"]])
        #expect(rows.map(\.calls) == [74, 26])
        #expect(rows.map(\.errors) == [4, 2])
        #expect(rows[0].errorRate == 4.0 / 74.0)
    }

    @Test func ratesOverall() throws {
        let rows = try history.store.rates(history.window, by: [])
        #expect(rows.count == 1)
        #expect(rows[0].calls == 100 && rows[0].errors == 6)
    }

    @Test func ratesByTwoDimensionsWithAFilter() throws {
        var filter = history.window
        filter.apps = ["chat"]
        let rows = try history.store.rates(filter, by: [.model, .type])
        let table = Dictionary(uniqueKeysWithValues: rows.map { ($0.group, ($0.calls, $0.errors)) })
        // A type narrows the errors, never the calls: each type's errors over all of that
        // model's calls (not 100% on every error row), as alert rules count.
        #expect(table.count == 3)
        #expect(table[["gpt-4o", "rate_limit_error"]]! == (43, 2))
        #expect(table[["gpt-4o", "authentication_error"]]! == (43, 1))
        #expect(table[["claude", "rate_limit_error"]]! == (21, 1))
    }

    @Test func aTypeFilterNarrowsTheErrorsNotTheCalls() throws {
        var filter = history.window
        filter.types = ["rate_limit_error"]
        let overall = try history.store.rates(filter, by: [])
        #expect(overall.map(\.calls) == [100])
        let perModel = try history.store.rates(filter, by: [.model])
        #expect(perModel.map(\.calls).reduce(0, +) == 100, "every call of each model is the denominator")
    }

    @Test func anEmptyWindowHasNoRate() throws {
        let rows = try history.store.rates(Filter(since: midnight, until: midnight + 3_600_000), by: [])
        #expect(rows.count == 1 && rows[0].calls == 0 && rows[0].errorRate == nil)
        #expect(try history.store.rates(Filter(since: midnight, until: midnight + 3_600_000), by: [.model]).isEmpty)
    }

    @Test func rollupsGiveTheSameAnswerAndLateOutcomesReachThem() throws {
        let store = history.store
        let wide = Filter(since: midnight - 2 * Timestamp.day, until: midnight + Timestamp.day)
        let before = try store.rates(wide, by: [.model, .type])
        try store.rollUp(now: midnight + 2 * Timestamp.day)
        #expect(try store.rates(wide, by: [.model, .type]) == before)

        // An outcome arriving late, for an hour already rolled up.
        try store.record([failure(midnight - 100 * History.minute, model: "claude")])
        // Only the rollups are left to answer for whole hours and days: the minute rows go.
        try store.writer.write { db in try db.execute(sql: "DELETE FROM call_counts") }
        let rows = try store.rates(wide, by: [.model])
        #expect(rows.map(\.calls) == [74, 27])
        #expect(rows.map(\.errors) == [4, 3])
        let daily = try store.writer.read { db in try Int.fetchOne(db, sql: "SELECT sum(calls) FROM call_counts_daily") }
        #expect(daily == 101)
    }
}

@Suite struct TrendQueryTests {
    let history: History
    init() throws { history = try History() }

    @Test func seriesPerBucketWithThePreviousPeriod() throws {
        try history.store.record([success(midnight - 180 * History.minute, count: 99), failure(midnight - 180 * History.minute)])
        let series = try history.store.trend(history.window, bucketMs: Timestamp.hour, by: [])
        #expect(series.count == 1)
        let points = series[0].points
        #expect(points.map(\.start) == [midnight - 2 * Timestamp.hour, midnight - Timestamp.hour])
        #expect(points.map(\.calls) == [62, 38])
        #expect(points.map(\.errors) == [2, 4])
        let trend = series[0].trend
        #expect(trend.rate == 0.06)
        #expect(trend.previousRate == 0.01)
        #expect(trend.direction == .rising)
        // Per-bucket rates 2/62 then 4/38, one hour apart.
        #expect(abs(trend.slopePerHour! - (4.0 / 38.0 - 2.0 / 62.0)) < 1e-12)
    }

    @Test func seriesPerGroupIncludeEmptyBuckets() throws {
        let series = try history.store.trend(history.window, bucketMs: 30 * History.minute, by: [.model])
        #expect(series.map(\.group) == [["claude"], ["gpt-4o"]])
        // Buckets start 120, 90, 60 and 30 minutes before midnight.
        #expect(series[0].points.map(\.calls) == [0, 21, 0, 5])
        #expect(series[1].points.map(\.calls) == [41, 0, 32, 1])
    }

    @Test func rollupsDoNotChangeTheSeries() throws {
        let before = try history.store.trend(history.window, bucketMs: Timestamp.hour, by: [.app]).map(\.points)
        try history.store.rollUp(now: midnight + Timestamp.day)
        try history.store.writer.write { db in try db.execute(sql: "DELETE FROM call_counts") }
        #expect(try history.store.trend(history.window, bucketMs: Timestamp.hour, by: [.app]).map(\.points) == before)
    }
}

@Suite struct RetentionTests {
    @Test func deletesWholeDaysFromEveryTableInChunks() throws {
        let history = try History()
        let day = Timestamp.day
        // A day earlier, a copy of part of the history.
        try history.store.record([
            success(midnight - day - 100 * History.minute, count: 7), failure(midnight - day - 90 * History.minute),
            failure(midnight - day - 30 * History.minute, model: "claude"),
        ])
        try history.store.rollUp(now: midnight + day)
        let everything = Filter(since: midnight - 3 * day, until: midnight + day)
        #expect(try history.store.rates(everything, by: [])[0].calls == 109)

        // A cutoff inside the history's day keeps that whole day and drops the day before.
        let deleted = try history.store.deleteOlderThan(midnight - 60 * History.minute, chunkSize: 1)
        // The day before: 2 error rows, and 3 rows (one per series) in each level of counts.
        #expect(deleted == 11)
        #expect(try history.store.rates(everything, by: [])[0].calls == 100)
        #expect(try history.store.errors(everything, limit: 100).events.count == 6)
        #expect(try history.store.rates(history.window, by: [])[0].calls == 100)
    }
}

@Suite struct AlertHistoryReportTests {
    /// "Notified" says a notification went out: not for a rule that has no notifiers.
    @Test func aRuleWithoutNotifiersNotifiesNoOne() {
        let alert = AlertState(rule: "quiet", group: [], labels: [:], phase: .firing, severity: .warning, value: 0.2, threshold: 0.1,
                               calls: 10, errors: 2, activeSince: 0, startsAt: 0, endsAt: nil, lastNotifiedAt: nil, updatedAt: 0)
        let event = AlertEvent(kind: .firing, alert: alert, at: 0, notify: true)
        var quiet = AlertRule(name: "quiet")
        quiet.notify = []
        var loud = quiet
        loud.name = "loud"
        loud.notify = ["ops"]
        let column = Report.alertHistory([event], rules: [quiet]).columns.firstIndex(of: "notified")!
        #expect(Report.alertHistory([event], rules: [quiet]).rows[0][column].json.text() == "false")
        var loudEvent = event
        loudEvent.alert.rule = "loud"
        #expect(Report.alertHistory([loudEvent], rules: [loud]).rows[0][column].json.text() == "true")
    }
}
