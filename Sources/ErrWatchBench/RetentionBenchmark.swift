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

    public init(binary: String, wrk: String, rows: Int, days: Int, seconds: Int, connections: Int, paceMs: Int, keep: String?) {
        self.binary = binary
        self.wrk = wrk
        self.rows = rows
        self.days = days
        self.seconds = seconds
        self.connections = connections
        self.paceMs = paceMs
        self.keep = keep
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
        let alone = try load()
        progress(String(format: "alone: p50 %.3f ms, p99 %.3f ms", alone.p50Ms, alone.p99Ms))

        // The oldest day goes: everything before the start of the UTC day `days - 1` days back.
        let prune = Process()
        prune.executableURL = URL(fileURLWithPath: binary)
        prune.arguments = ["prune", "--db", database, "--older-than", "\(days - 1)d", "--format", "csv"]
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
        let pruneSeconds = ((finished.withLock { $0 } ?? .now) - started).secondsValue
        guard prune.terminationStatus == 0, let deleted = said.split(whereSeparator: \.isNewline).last?.split(separator: ",").last.flatMap({ Int($0) })
        else { throw BenchFailure("errwatch prune failed:\n\(said)") }
        progress(String(format: "while pruning: p50 %.3f ms, p99 %.3f ms; the prune took %.1f s", during.p50Ms, during.p99Ms, pruneSeconds))
        agent.stop()
        let sizeAfter = try Self.fileSize(database)
        let within = pruneSeconds <= Double(seconds) ? "yes" : "no: it outlasted the load"
        return Report(
            columns: ["load", "requests_per_s", "p50_ms", "p99_ms", "rows_deleted", "prune_s", "prune_within_load", "db_mib_before", "db_mib_after", "p99_ratio"],
            rows: [
                [.text("paced \(paceMs) ms, alone"), .number(alone.requestsPerSecond, digits: 0), .number(alone.p50Ms, digits: 3),
                 .number(alone.p99Ms, digits: 3), .null, .null, .null, .number(Double(sizeBefore) / 1_048_576, digits: 1), .null, .null],
                [.text("paced \(paceMs) ms, while pruning"), .number(during.requestsPerSecond, digits: 0), .number(during.p50Ms, digits: 3),
                 .number(during.p99Ms, digits: 3), .integer(Int64(deleted)), .number(pruneSeconds, digits: 1), .text(within),
                 .number(Double(sizeBefore) / 1_048_576, digits: 1), .number(Double(sizeAfter) / 1_048_576, digits: 1),
                 .number(during.p99Ms / max(alone.p99Ms, 0.001), digits: 2)],
            ])
    }

    /// The database's size: the file and its write-ahead log.
    static func fileSize(_ path: String) throws -> Int64 {
        [path, path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int64) ?? 0)
        }
    }
}
