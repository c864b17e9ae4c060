import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation
import Synchronization

/// `errwatch bench retention`: retention on a large database while the agent proxies. The
/// agent runs on a generated database; wrk loads it paced, once alone (the baseline) and once
/// while `errwatch prune` deletes the oldest day from the same file; the report compares the
/// proxy's latency in the two runs and the file's size before and after.
public struct RetentionBenchmark: Sendable {
    /// The errwatch binary: the fake upstream, the agent and the prune.
    public var binary: String
    public var wrk: String
    /// Error rows to generate.
    public var rows: Int
    /// Days they span, ending now.
    public var days: Int
    /// Length of each load run.
    public var seconds: Int
    public var connections: Int
    /// Pause between a connection's requests.
    public var paceMs: Int
    /// A database to reuse (generated there when it does not exist).
    public var keep: String?
    /// Rounds of a run alone and a run while pruning; each round prunes one more day.
    public var runs: Int

    public init(binary: String, wrk: String, rows: Int, days: Int, seconds: Int, connections: Int, paceMs: Int, keep: String?, runs: Int = 3) {
        self.binary = binary
        self.wrk = wrk
        self.rows = rows
        self.days = days
        self.seconds = seconds
        self.connections = connections
        self.paceMs = paceMs
        self.keep = keep
        self.runs = runs
    }

    public func run(now: Int64, progress: (String) -> Void) async throws -> Report {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("errwatch-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = keep ?? directory.appendingPathComponent("retention.db").path
        if !FileManager.default.fileExists(atPath: database) {
            let store = try Store.open(path: database)
            let took = try await Measure.seconds { try QueryBenchmark.generate(into: store, rows: rows, days: days, now: now) }
            try store.close()
            progress(String(format: "generated %d error rows over %d days in %.0f s", rows, days, took))
        }
        let sizeBefore = try Self.fileSize(database)

        let script = directory.appendingPathComponent("paced.lua").path
        try Data("""
            wrk.method = "POST"
            wrk.body = '{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}'
            wrk.headers["Content-Type"] = "application/json"
            wrk.headers["Authorization"] = "Bearer sk-bench-not-a-real-key-000"
            function delay() return \(paceMs) end

            """.utf8).write(to: URL(fileURLWithPath: script))
        let upstream = try Child(binary, ["mock-upstream", "--listen", "127.0.0.1:0", "--mix", ""], marker: "mock upstream listening")
        defer { upstream.stop() }
        // The agent's own retention off: only the measured prune deletes.
        let keepAll = ["ERRWATCH_RETAIN_ERRORS": "forever", "ERRWATCH_RETAIN_MINUTE_COUNTS": "forever",
                       "ERRWATCH_RETAIN_ROLLUPS": "forever", "ERRWATCH_RETAIN_ALERTS": "forever"]
        let agent = try Child(binary, ["agent", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(upstream.port)/v1", "--db", database],
                              environment: keepAll, marker: "errwatch agent listening")
        defer { agent.stop() }
        let url = "http://127.0.0.1:\(agent.port)/v1/chat/completions"
        let load = { () throws -> ProxyBenchmark.Run in
            let output = try ProxyBenchmark.capture(wrk, ["-t2", "-c\(connections)", "-d\(seconds)s", "--timeout", "60s", "--latency", "-s", script, url])
            guard let run = ProxyBenchmark.parse(output) else { throw BenchFailure("Could not read wrk's output:\n\(output)") }
            return run
        }
        _ = try ProxyBenchmark.capture(wrk, ["-t1", "-c4", "-d1s", "--latency", "-s", script, url])
        // Rounds of a run alone and a run while the oldest remaining day is pruned, so that
        // the two are compared across the machine's drift rather than one run of each.
        var rounds: [Round] = []
        for round in 0..<runs {
            let alone = try load()
            progress(String(format: "round %d alone: p50 %.3f ms, p99 %.3f ms", round + 1, alone.p50Ms, alone.p99Ms))
            let (during, pruned) = try whilePruning(database: database, olderThanDays: days - 1 - round, load: load)
            progress(String(format: "round %d while pruning: p50 %.3f ms, p99 %.3f ms; %d rows pruned in %.1f s",
                            round + 1, during.p50Ms, during.p99Ms, pruned.rows, pruned.seconds))
            rounds.append(Round(alone: alone, during: during, pruned: pruned))
        }
        agent.stop()
        let sizeAfter = try Self.fileSize(database)
        return report(rounds, sizeBefore: sizeBefore, sizeAfter: sizeAfter)
    }

    /// One round: the load alone, then while a prune ran.
    struct Round {
        var alone: ProxyBenchmark.Run
        var during: ProxyBenchmark.Run
        var pruned: Prune
    }

    /// What a prune deleted, and how long it took.
    struct Prune {
        var rows: Int
        var seconds: Double
    }

    /// Runs `load` while `errwatch prune` deletes everything older than `olderThanDays` days
    /// (the start of that UTC day) in its own process.
    private func whilePruning(database: String, olderThanDays: Int, load: () throws -> ProxyBenchmark.Run)
        throws -> (ProxyBenchmark.Run, Prune) {
        let prune = Process()
        prune.executableURL = URL(fileURLWithPath: binary)
        prune.arguments = ["prune", "--db", database, "--older-than", "\(olderThanDays)d", "--format", "csv"]
        let output = Pipe()
        prune.standardOutput = output
        prune.standardError = output
        let started = ContinuousClock.now
        let finished = Mutex<ContinuousClock.Instant?>(nil)
        prune.terminationHandler = { _ in finished.withLock { $0 = .now } }
        try prune.run()
        let during = try load()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        prune.waitUntilExit()
        let seconds = ((finished.withLock { $0 } ?? .now) - started).secondsValue
        guard prune.terminationStatus == 0, let deleted = said.split(whereSeparator: \.isNewline).last?.split(separator: ",").last.flatMap({ Int($0) })
        else { throw BenchFailure("errwatch prune failed:\n\(said)") }
        return (during, Prune(rows: deleted, seconds: seconds))
    }

    /// A row per run, then the medians and the ratio of the p99s.
    private func report(_ rounds: [Round], sizeBefore: Int64, sizeAfter: Int64) -> Report {
        func row(_ label: String, _ run: ProxyBenchmark.Run, pruned: Prune?, ratio: Double?, sizes: (Int64, Int64)? = nil) -> [Cell] {
            [.text(label), .number(run.requestsPerSecond, digits: 0), .number(run.p50Ms, digits: 3), .number(run.p99Ms, digits: 3),
             pruned.map { .integer(Int64($0.rows)) } ?? .null, pruned.map { .number($0.seconds, digits: 1) } ?? .null,
             pruned.map { .text($0.seconds <= Double(seconds) ? "yes" : "no: it outlasted the load") } ?? .null,
             ratio.map { .number($0, digits: 2) } ?? .null,
             sizes.map { .number(Double($0.0) / 1_048_576, digits: 1) } ?? .null, sizes.map { .number(Double($0.1) / 1_048_576, digits: 1) } ?? .null]
        }
        var rows: [[Cell]] = []
        for (index, round) in rounds.enumerated() {
            rows.append(row("round \(index + 1): paced \(paceMs) ms, alone", round.alone, pruned: nil, ratio: nil))
            rows.append(row("round \(index + 1): paced \(paceMs) ms, while pruning", round.during, pruned: round.pruned,
                            ratio: round.during.p99Ms / max(round.alone.p99Ms, 0.001)))
        }
        let alone = ProxyBenchmark.median(rounds.map(\.alone))
        let during = ProxyBenchmark.median(rounds.map(\.during))
        // The rows deleted in all rounds beside the median prune time; the file before and after all.
        let pruned = Prune(rows: rounds.map(\.pruned.rows).reduce(0, +), seconds: Measure.median(rounds.map(\.pruned.seconds)))
        rows.append(row("median: alone", alone, pruned: nil, ratio: nil))
        rows.append(row("median: while pruning (rows: all rounds)", during, pruned: pruned, ratio: during.p99Ms / max(alone.p99Ms, 0.001),
                        sizes: (sizeBefore, sizeAfter)))
        return Report(columns: ["load", "requests_per_s", "p50_ms", "p99_ms", "rows_deleted", "prune_s", "prune_within_load", "p99_ratio",
                                "db_mib_before", "db_mib_after"], rows: rows)
    }

    /// The database's size: the file and its write-ahead log.
    static func fileSize(_ path: String) throws -> Int64 {
        [path, path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int64) ?? 0)
        }
    }
}
