import ArgumentParser
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch bench`: the shipped benchmarks.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measures recording and query speed against a bare-SQLite baseline (build with -c release).",
        subcommands: [BenchIngestCommand.self, BenchQueryCommand.self, BenchProxyCommand.self, BenchAlertsCommand.self])
}

/// Median of measured values.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Seconds taken by `body`.
func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return start.duration(to: .now).secondsValue
}

/// `errwatch bench ingest`.
struct BenchIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Writes outcomes through the batch writer and the same error rows through bare SQLite.",
        discussion: helpText("""
            Each run writes --outcomes outcomes (spread over the last hour, realistic dimensions)
            through errwatch's batch writer into a fresh database file, then inserts the identical
            error rows into another fresh file with a bare sqlite3 prepared-statement loop: same
            schema and indexes, same pragmas, one transaction per writer batch. It prints the
            medians over --runs runs and the ratio of errwatch's error-row rate to the baseline's.

            Example:
              swift run -c release errwatch bench ingest
            """))

    @Option(help: "Outcomes per run.")
    var outcomes = 1_000_000
    @Option(name: .customLong("error-share"), help: "Shares of errors to run, as a comma list of fractions.")
    var errorShares = "0.1,1.0"
    @Option(help: "Runs per share; medians are printed.")
    var runs = 3

    func run() async throws {
        let context = CommandContext.current
        let shares = try errorShares.split(separator: ",").map { text -> Double in
            guard let share = Double(text.trimmingCharacters(in: .whitespaces)), share > 0, share <= 1 else {
                throw ValidationError("Invalid --error-share '\(text)'; give fractions from 0 (excluded) to 1, such as 0.1,1.0.")
            }
            return share
        }
        guard outcomes >= 1_000, runs >= 1 else { throw ValidationError("Give --outcomes of at least 1000 and --runs of at least 1.") }
        #if DEBUG
        context.warn("warning: this is a debug build; measure with 'swift run -c release errwatch bench ingest'.")
        #endif
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("errwatch-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var rows: [[Cell]] = []
        for share in shares {
            var data = BenchData()
            let now = context.now()
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
                ours.append(await seconds {
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { await writer.run() }
                        for outcome in generated { writer.submit(outcome) }
                        await writer.shutdown()
                    }
                })
                let statistics = writer.statistics
                guard statistics.written == outcomes, statistics.errorsWritten == errorRows, statistics.dropped == 0 else {
                    throw ValidationErrorText("The writer lost outcomes: \(statistics).")
                }

                let basePath = directory.appendingPathComponent("baseline-\(share)-\(run).db").path
                let bare = try SQLiteBaseline(path: basePath)
                baseline.append(try await seconds {
                    var offset = 0
                    while offset < generated.count {
                        try bare.insert(generated[offset..<min(offset + batchSize, generated.count)])
                        offset += batchSize
                    }
                })
                bare.close()
                context.warn(String(format: "share %.2f run %d: errwatch %.3f s, baseline %.3f s", share, run + 1, ours.last!, baseline.last!))
            }
            let oursSeconds = median(ours), baseSeconds = median(baseline)
            let oursRate = Double(errorRows) / oursSeconds, baseRate = Double(errorRows) / baseSeconds
            rows.append([
                .number(share, digits: 2), .integer(Int64(outcomes)), .integer(Int64(errorRows)),
                .number(Double(outcomes) / oursSeconds, digits: 0), .number(oursRate, digits: 0),
                .number(baseRate, digits: 0), .number(oursRate / baseRate, digits: 2),
            ])
        }
        Report(
            columns: ["error_share", "outcomes", "error_rows", "outcomes_per_s", "error_rows_per_s", "baseline_error_rows_per_s", "ratio"],
            rows: rows
        ).render(.table, to: context.standardOutput)
    }
}
