import ErrWatchCore
import Foundation
import GRDB

/// The store as one evaluation's count source: each distinct window is read once, as calls per
/// series (integer keys, no join), and every rule's groups are summed from that in memory, so
/// the cost of an evaluation grows with its distinct windows, not with its rules.
public final class StoreCountSource: AlertCountSource {
    private let store: Store
    private var series: [Int64: SeriesDimensions] = [:]
    private var windows: [WindowKey: [(SeriesDimensions, Int64)]] = [:]
    private var latencyWindows: [WindowKey: [(SeriesDimensions, [Int64])]] = [:]

    private struct WindowKey: Hashable {
        var from: Int64
        var to: Int64
        var timing = Timing.latency
    }

    /// The calls under way when the evaluation began (the agent's; none for a database alone).
    private let inflightCalls: [InflightCall]

    /// A source over `store` and the calls in flight now; make a new one per evaluation (it
    /// keeps what it read).
    public init(store: Store, inflight: [InflightCall] = []) {
        self.store = store
        inflightCalls = inflight
    }

    public func inflight(scope: RuleScope, groupBy: [ErrWatchCore.Dimension], olderThan: Int64, at now: Int64) throws -> [[String]: GroupCounts] {
        SeriesGrouping.inflight(inflightCalls, scope: scope, groupBy: groupBy, olderThan: olderThan, at: now)
    }

    public func counts(scope: RuleScope, groupBy: [ErrWatchCore.Dimension], from: Int64, to: Int64) throws -> [[String]: GroupCounts] {
        let key = WindowKey(from: from, to: to)
        if windows[key] == nil {
            let calls = try store.callsPerSeries(from: from, to: to)
            // Series are never deleted or reused: reread the table only when one is new.
            if calls.keys.contains(where: { series[$0] == nil }) { series = try store.seriesDimensions() }
            windows[key] = calls.compactMap { id, count in series[id].map { ($0, count) } }
        }
        return SeriesGrouping.group(windows[key]!, scope: scope, groupBy: groupBy)
    }

    public func latencies(_ timing: Timing, scope: RuleScope, groupBy: [ErrWatchCore.Dimension], from: Int64, to: Int64) throws -> [[String]: [Int64]] {
        let key = WindowKey(from: from, to: to, timing: timing)
        if latencyWindows[key] == nil {
            let histograms = try store.latencyPerSeries(timing, from: from, to: to)
            if histograms.keys.contains(where: { series[$0] == nil }) { series = try store.seriesDimensions() }
            latencyWindows[key] = histograms.compactMap { id, counts in series[id].map { ($0, counts) } }
        }
        return SeriesGrouping.histograms(latencyWindows[key]!, scope: scope, groupBy: groupBy)
    }
}
