import ErrWatchCore
import ErrWatchReport
import ErrWatchStore

/// `errwatch bench query`: the history and rate queries timed on a large generated database.
public enum QueryBenchmark {
    /// Runs each query `repetitions` times and reports the median and the slowest, in ms.
    public static func time(
        _ queries: [(name: String, run: () async throws -> Void)], repetitions: Int
    ) async throws -> Report {
        var results: [[Cell]] = []
        for query in queries {
            var times: [Double] = []
            for _ in 0..<repetitions { times.append(try await Measure.seconds(query.run)) }
            results.append([.text(query.name), .number(Measure.median(times) * 1_000, digits: 2), .number(times.max()! * 1_000, digits: 2)])
        }
        return Report(columns: ["query", "median_ms", "max_ms"], rows: results)
    }

    /// Writes the error rows minute by minute, with the successes of each minute aggregated
    /// per app, endpoint and model (`count`), as a client library reports them.
    public static func generate(into store: Store, rows: Int, days: Int, now: Int64) throws {
        var data = BenchData(seed: 7)
        let minutes = days * 1_440
        let start = Timestamp.floor(now, to: Timestamp.minute) - Int64(minutes) * Timestamp.minute
        let errorsPerMinute = Double(rows) / Double(minutes)
        var written = 0
        for minute in 0..<minutes {
            let target = Int((Double(minute + 1) * errorsPerMinute).rounded()) - written
            written += target
            let base = start + Int64(minute) * Timestamp.minute
            var outcomes: [CallOutcome] = []
            var successes: [String: CallOutcome] = [:]
            outcomes.reserveCapacity(target)
            for index in 0..<target {
                let ts = base + Int64(index) * Timestamp.minute / Int64(max(target, 1))
                outcomes.append(data.outcome(at: ts, errorShare: 1))
                // Nine successes per error, folded into one record per dimensions.
                var ok = data.outcome(at: base, errorShare: 0)
                let key = "\(ok.app)|\(ok.endpoint)|\(ok.model)"
                ok.count = (successes[key]?.count ?? 0) + 9
                successes[key] = ok
            }
            outcomes += successes.values
            try store.record(outcomes)
        }
        try store.rollUp(now: now)
    }
}
