import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Testing

/// The live agent's counts (read from the store and its rollups) and a replay's (minute rows
/// in memory) agree for every kind of scope and grouping, so a replay tells the truth about
/// what the agent would do.
struct AlertCountsTests {
    @Test func storeAndReplayCountTheSame() throws {
        let directory = try Workspace()
        defer { directory.cleanup() }
        let store = try Store.open(path: directory.path("counts.db"))
        var outcomes: [CallOutcome] = []
        var random = SplitMix64(seed: 3)
        // Two days, so that hourly and daily rollups answer part of the longer windows.
        for minute in stride(from: 0, to: 2 * 1_440, by: 7) {
            let at = midnight + Int64(minute) * Timestamp.minute
            for app in ["chat", "batch"] {
                for model in ["gpt-4o", "claude"] {
                    outcomes.append(success(at, app: app, model: model, count: 10 + random.below(20)))
                    if random.below(3) == 0 { outcomes.append(failure(at, app: app, model: model)) }
                    if random.below(5) == 0 {
                        outcomes.append(failure(at, status: 503, type: .serviceUnavailable, code: "overloaded", app: app,
                                                endpoint: "embeddings", model: model))
                    }
                }
            }
        }
        _ = try store.record(outcomes)
        let now = midnight + 2 * Timestamp.day + 7 * Timestamp.minute
        try store.rollUp(now: now)
        let replay = ReplaySource(rows: try store.minuteRows(since: 0, until: now))
        let live = StoreCountSource(store: store)

        var scopes = [RuleScope()]
        var rateLimits = RuleScope()
        rateLimits.types = ["rate_limit_error"]
        var chatOnly = RuleScope()
        chatOnly.apps = ["chat"]
        chatOnly.endpoints = ["/v1/chat/completions"]
        var byStatus = RuleScope()
        byStatus.statuses = [503]
        byStatus.models = ["claude"]
        scopes += [rateLimits, chatOnly, byStatus]
        let groupings: [[Dimension]] = [[], [.model], [.app, .model], [.model, .type], [.endpoint, .code], [.status]]
        for window in [5 * Timestamp.minute, 3 * Timestamp.hour, 36 * Timestamp.hour] {
            for scope in scopes {
                for groupBy in groupings {
                    let expected = try replay.counts(scope: scope, groupBy: groupBy, from: now - window, to: now)
                    let actual = try live.counts(scope: scope, groupBy: groupBy, from: now - window, to: now)
                    #expect(actual == expected, "window \(window), scope \(scope), by \(groupBy)")
                    #expect(try store.counts(scope: scope, groupBy: groupBy, from: now - window, to: now) == expected)
                }
            }
        }
        // The 36-hour window really is answered from the rollups as well.
        #expect(try live.counts(scope: RuleScope(), groupBy: [], from: now - 36 * Timestamp.hour, to: now)[[]]!.calls > 0)
    }
}
