import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch bench ingest`: outcomes written through errwatch's batch writer, against the same
/// error rows inserted through bare SQLite (``SQLiteBaseline``), measured in the same run.
public struct IngestBenchmark: Sendable {
    /// Outcomes per run.
    public var outcomes: Int
    /// The error shares to measure, each a run of its own.
    public var errorShares: [Double]
    /// Runs per share; medians are reported.
    public var runs: Int

    /// A benchmark of `outcomes` outcomes per run, for each share of errors, `runs` times.
    public init(outcomes: Int, errorShares: [Double], runs: Int) {
        self.outcomes = outcomes
        self.errorShares = errorShares
        self.runs = runs
    }

    /// Runs every share `runs` times in a temporary folder and reports the medians and the
    /// ratio of errwatch's error-row rate to the baseline's. `progress` hears each run.
    public func run(now: Int64, progress: (String) -> Void) async throws -> Report {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("errwatch-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var rows: [[Cell]] = []
        for share in errorShares {
            var data = BenchData()
            let start = now - Timestamp.hour
            let generated = (0..<outcomes).map { index in
                data.outcome(at: start + Int64(index) * Timestamp.hour / Int64(outcomes), errorShare: share)
            }
            let errorRows = generated.filter(\.isError).count
            let batchSize = BatchWriter.Configuration().batchSize
            var ours: [Double] = [], baseline: [Double] = []
            for run in 0..<runs {
                let path = directory.appendingPathComponent("errwatch-\(share)-\(run).db").path
                let store = try Store.open(path: path)
                var configuration = BatchWriter.Configuration()
                configuration.capacity = outcomes
                // The writer's clock is the traffic's, as for a live agent: outcomes arrive as
                // they happen, past the rollup watermark, not an hour late.
                let writer = BatchWriter(store: store, configuration: configuration, now: { start })
                ours.append(await Measure.seconds {
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { await writer.run() }
                        for outcome in generated { writer.submit(outcome) }
                        await writer.shutdown()
                    }
                })
                let statistics = writer.statistics
                guard statistics.written == outcomes, statistics.errorsWritten == errorRows, statistics.dropped == 0 else {
                    throw BenchFailure("The writer lost outcomes: \(statistics).")
                }

                let basePath = directory.appendingPathComponent("baseline-\(share)-\(run).db").path
                let bare = try SQLiteBaseline(path: basePath, host: store.hostName)
                baseline.append(try await Measure.seconds {
                    var offset = 0
                    while offset < generated.count {
                        try bare.insert(generated[offset..<min(offset + batchSize, generated.count)])
                        offset += batchSize
                    }
                })
                bare.close()
                progress(String(format: "share %.2f run %d: errwatch %.3f s, baseline %.3f s", share, run + 1, ours.last!, baseline.last!))
            }
            let oursSeconds = Measure.median(ours), baseSeconds = Measure.median(baseline)
            let oursRate = Double(errorRows) / oursSeconds, baseRate = Double(errorRows) / baseSeconds
            rows.append([
                .number(share, digits: 2), .integer(Int64(outcomes)), .integer(Int64(errorRows)),
                .number(Double(outcomes) / oursSeconds, digits: 0), .number(oursRate, digits: 0),
                .number(baseRate, digits: 0), .number(oursRate / baseRate, digits: 2),
            ])
        }
        return Report(
            columns: ["error_share", "outcomes", "error_rows", "outcomes_per_s", "error_rows_per_s", "baseline_error_rows_per_s", "ratio"],
            rows: rows)
    }
}
