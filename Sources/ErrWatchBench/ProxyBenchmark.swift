import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch bench proxy`: wrk straight to a fake upstream, then through the agent, as
/// separate processes of the built binary, flat out and paced, alternating runs.
public struct ProxyBenchmark: Sendable {
    /// The errwatch binary that serves both the fake upstream and the agent.
    public var binary: String
    /// The wrk program.
    public var wrk: String
    public var connections: Int
    /// Length of each load run.
    public var seconds: Int
    /// wrk's threads.
    public var threads: Int
    /// Runs of each target; medians are reported.
    public var runs: Int
    /// Pause between a connection's requests in the paced runs.
    public var paceMs: Int

    public init(binary: String, wrk: String, connections: Int, seconds: Int, threads: Int, runs: Int, paceMs: Int) {
        self.binary = binary
        self.wrk = wrk
        self.connections = connections
        self.seconds = seconds
        self.threads = threads
        self.runs = runs
        self.paceMs = paceMs
    }

    /// One wrk run's figures.
    public struct Run: Sendable {
        public var requestsPerSecond: Double
        public var p50Ms: Double
        public var p99Ms: Double
        public var requests: Int
        public var non2xx: Int
    }

    /// The medians of every target and load, what the agent recorded, and its peak memory.
    public struct Result: Sendable {
        public var direct: Run, proxied: Run, pacedDirect: Run, pacedProxied: Run
        /// Requests the measured runs sent through the agent.
        public var sent: Int
        /// Calls the agent recorded (the measured runs and a warm-up).
        public var recorded: Int64
        public var peakRSSKiB: Int?
        var connections: Int, seconds: Int, runs: Int, paceMs: Int

        /// The table and the summary lines.
        public func write(to output: (String) -> Void) {
            let rows: [[Cell]] = [("upstream directly", "flat out", direct), ("through the agent", "flat out", proxied),
                                  ("upstream directly", "paced \(paceMs) ms", pacedDirect), ("through the agent", "paced \(paceMs) ms", pacedProxied)]
                .map { name, mode, run in
                    [.text(name), .text(mode), .number(run.requestsPerSecond, digits: 0), .number(run.p50Ms, digits: 3), .number(run.p99Ms, digits: 3),
                     .integer(Int64(run.requests)), .integer(Int64(run.non2xx))]
                }
            output("medians of \(runs) runs of \(seconds)s at \(connections) connections:\n")
            Report(columns: ["target", "load", "requests_per_s", "p50_ms", "p99_ms", "requests", "non_2xx"], rows: rows)
                .render(.table, to: output)
            output("""
                throughput through the agent: \(Int(proxied.requestsPerSecond)) requests/s, \
                \(Format.fixed(proxied.requestsPerSecond / direct.requestsPerSecond * 100, digits: 1))% of direct
                added latency, paced: p50 \(Format.fixed(pacedProxied.p50Ms - pacedDirect.p50Ms, digits: 3)) ms, \
                p99 \(Format.fixed(pacedProxied.p99Ms - pacedDirect.p99Ms, digits: 3)) ms \
                (flat out: p50 \(Format.fixed(proxied.p50Ms - direct.p50Ms, digits: 3)) ms, p99 \(Format.fixed(proxied.p99Ms - direct.p99Ms, digits: 3)) ms)
                agent peak RSS: \(peakRSSKiB.map { "\($0 / 1024) MiB" } ?? "unknown"); outcomes recorded: \(recorded) (the measured runs sent \(sent), plus a warm-up)

                """)
        }
    }

    /// Starts the fake upstream and the agent, warms both, runs the loads, and reads back what
    /// the agent recorded. `progress` hears each run.
    public func run(progress: (String) -> Void) throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("errwatch-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let request = """
            wrk.method = "POST"
            wrk.body = '{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}'
            wrk.headers["Content-Type"] = "application/json"
            wrk.headers["Authorization"] = "Bearer sk-bench-not-a-real-key-000"

            """
        let script = directory.appendingPathComponent("post.lua").path
        try Data(request.utf8).write(to: URL(fileURLWithPath: script))
        let pacedScript = directory.appendingPathComponent("paced.lua").path
        try Data((request + "function delay() return \(paceMs) end\n").utf8).write(to: URL(fileURLWithPath: pacedScript))

        let upstream = try Child(binary, ["mock-upstream", "--listen", "127.0.0.1:0", "--mix", ""], marker: "mock upstream listening")
        defer { upstream.stop() }
        let database = directory.appendingPathComponent("bench.db").path
        let agent = try Child(binary, ["agent", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(upstream.port)/v1", "--db", database],
                              marker: "errwatch agent listening")
        defer { agent.stop() }

        let load = { (url: String, script: String) throws -> Run in
            let output = try Self.capture(wrk, ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", "--latency", "-s", script, url])
            guard let run = Self.parse(output) else { throw BenchFailure("Could not read wrk's output:\n\(output)") }
            return run
        }
        // A short warm-up of each, then the measured runs.
        _ = try Self.capture(wrk, ["-t1", "-c4", "-d1s", "-s", script, "http://127.0.0.1:\(upstream.port)/v1/chat/completions"])
        _ = try Self.capture(wrk, ["-t1", "-c4", "-d1s", "-s", script, "http://127.0.0.1:\(agent.port)/v1/chat/completions"])
        let directURL = "http://127.0.0.1:\(upstream.port)/v1/chat/completions", agentURL = "http://127.0.0.1:\(agent.port)/v1/chat/completions"
        var directRuns: [Run] = [], proxiedRuns: [Run] = [], pacedDirectRuns: [Run] = [], pacedProxiedRuns: [Run] = []
        for run in 1...runs {
            directRuns.append(try load(directURL, script))
            proxiedRuns.append(try load(agentURL, script))
            pacedDirectRuns.append(try load(directURL, pacedScript))
            pacedProxiedRuns.append(try load(agentURL, pacedScript))
            progress("""
                run \(run): flat out direct \(Int(directRuns.last!.requestsPerSecond)) req/s, through the agent \(Int(proxiedRuns.last!.requestsPerSecond)) req/s; \
                paced p99 direct \(Format.fixed(pacedDirectRuns.last!.p99Ms, digits: 3)) ms, through the agent \(Format.fixed(pacedProxiedRuns.last!.p99Ms, digits: 3)) ms
                """)
        }
        let direct = Self.median(directRuns), proxied = Self.median(proxiedRuns)
        let pacedDirect = Self.median(pacedDirectRuns), pacedProxied = Self.median(pacedProxiedRuns)
        let sent = (proxiedRuns + pacedProxiedRuns).reduce(0) { $0 + $1.requests }
        let peakRSS = agent.peakRSSKiB()
        agent.stop()
        let store = try Store.open(path: database)
        let recorded = try store.rates(Filter(since: 0, until: Int64.max / 2), by: [])[0].calls
        return Result(direct: direct, proxied: proxied, pacedDirect: pacedDirect, pacedProxied: pacedProxied, sent: sent,
                      recorded: recorded, peakRSSKiB: peakRSS, connections: connections, seconds: seconds, runs: runs, paceMs: paceMs)
    }

    /// The median of each figure over `runs`.
    static func median(_ runs: [Run]) -> Run {
        Run(requestsPerSecond: Measure.median(runs.map(\.requestsPerSecond)), p50Ms: Measure.median(runs.map(\.p50Ms)),
            p99Ms: Measure.median(runs.map(\.p99Ms)), requests: Int(Measure.median(runs.map { Double($0.requests) })),
            non2xx: runs.reduce(0) { $0 + $1.non2xx })
    }

    /// Runs a command to completion and returns its standard output.
    static func capture(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Requests/s, p50 and p99 from wrk's `--latency` report.
    static func parse(_ output: String) -> Run? {
        func milliseconds(_ text: Substring) -> Double? {
            let units: [(String, Double)] = [("us", 0.001), ("ms", 1), ("s", 1_000), ("m", 60_000)]
            for (suffix, scale) in units where text.hasSuffix(suffix) {
                return Double(text.dropLast(suffix.count)).map { $0 * scale }
            }
            return nil
        }
        var run = Run(requestsPerSecond: 0, p50Ms: 0, p99Ms: 0, requests: 0, non2xx: 0)
        var found = 0
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.first == "Requests/sec:", let value = words.last.flatMap({ Double($0) }) { run.requestsPerSecond = value; found += 1 }
            if words.first == "50%", let value = words.last.flatMap(milliseconds) { run.p50Ms = value; found += 1 }
            if words.first == "99%", let value = words.last.flatMap(milliseconds) { run.p99Ms = value; found += 1 }
            if words.count >= 2, words[1] == "requests", let value = Int(words[0]) { run.requests = value }
            if line.contains("Non-2xx or 3xx responses:"), let value = words.last.flatMap({ Int($0) }) { run.non2xx = value }
        }
        return found == 3 ? run : nil
    }
}
