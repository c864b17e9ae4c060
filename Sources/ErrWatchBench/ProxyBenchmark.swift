import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch bench proxy`: wrk straight to a fake upstream, through nginx (the peer), and
/// through the agent, as separate processes, flat out and paced, in alternating runs of one
/// invocation; over plain HTTP or, with `tls`, to an https upstream as every real provider is.
public struct ProxyBenchmark: Sendable {
    /// The errwatch binary that serves both the fake upstream and the agent.
    public var binary: String
    /// The wrk program.
    public var wrk: String
    /// The nginx program (the peer), or nil to leave it out.
    public var nginx: String?
    /// The openssl program, for the TLS upstream's certificates.
    public var openssl: String?
    /// Concurrent connections (in `bench stream`, concurrent streams).
    public var connections: Int
    /// Length of each load run.
    public var seconds: Int
    /// wrk's threads.
    public var threads: Int
    /// Runs of each target; medians are reported.
    public var runs: Int
    /// Pause between a connection's requests in the paced runs.
    public var paceMs: Int
    /// Whether the upstream speaks TLS.
    public var tls: Bool
    /// Streamed completions instead of plain ones (`bench stream`): the load is flat out only,
    /// each connection a stream after another.
    public var stream: StreamLoad?

    /// What each streamed completion is: its content chunks, the pause between them, and the
    /// share of streams the upstream breaks with an error event.
    public struct StreamLoad: Sendable {
        /// Content chunks per stream.
        public var chunks: Int
        /// Pause between a stream's chunks.
        public var intervalMs: Int
        /// Share of streams broken by an error event.
        public var errorShare: Double

        /// Streams of `chunks` chunks `intervalMs` apart, `errorShare` of them broken.
        public init(chunks: Int, intervalMs: Int, errorShare: Double) {
            self.chunks = chunks
            self.intervalMs = intervalMs
            self.errorShare = errorShare
        }
    }

    /// A benchmark of these programs and loads.
    public init(binary: String, wrk: String, nginx: String?, openssl: String?, connections: Int, seconds: Int, threads: Int,
                runs: Int, paceMs: Int, tls: Bool, stream: StreamLoad? = nil) {
        self.binary = binary
        self.wrk = wrk
        self.nginx = nginx
        self.openssl = openssl
        self.connections = connections
        self.seconds = seconds
        self.threads = threads
        self.runs = runs
        self.paceMs = paceMs
        self.tls = tls
        self.stream = stream
    }

    /// Where the load goes.
    public enum Target: String, Sendable, CaseIterable {
        /// The fake upstream itself: what the proxies are compared with.
        case direct = "upstream directly"
        /// nginx in front of it: the peer.
        case nginx = "nginx"
        /// errwatch's agent in front of it.
        case agent = "errwatch agent"
    }

    /// How the load is offered.
    public enum Load: Sendable, Hashable {
        /// Each connection sends its next request as soon as the last is answered.
        case flatOut
        /// Each connection waits between requests, as apps do.
        case paced
    }

    /// One wrk run's figures, and the CPU the proxy used during it.
    public struct Run: Sendable {
        /// Answers per second (in `bench stream`, whole streams).
        public var requestsPerSecond: Double
        /// Median latency (in `bench stream`, of the whole stream).
        public var p50Ms: Double
        /// 99th percentile latency.
        public var p99Ms: Double
        /// Answers wrk counted.
        public var requests: Int
        /// Answers with a status other than 2xx or 3xx.
        public var non2xx: Int
        /// The proxy's CPU time per 1,000 requests, in ms (nil for the upstream directly).
        public var cpuMsPer1000: Double?
    }

    /// The medians of every target and load, what the agent recorded, and peak memory.
    public struct Result: Sendable {
        /// The medians, per target and load.
        public var runs: [Target: [Load: Run]]
        /// Requests the agent answered in full, the warm-up included (wrk's count).
        public var sent: Int
        /// Calls the agent recorded.
        public var recorded: Int64
        /// The errors among them, by code: in `bench stream`, the upstream's error events
        /// (`upstream_error`) and the streams wrk cut when each run's time was up
        /// (`client_closed_request`), which it does not count as answered.
        public var recordedErrors: [(code: String, calls: Int64)]
        /// The agent's peak resident set (VmHWM), in KiB.
        public var agentPeakRSSKiB: Int?
        /// The largest of the agent's resident anonymous memory seen during the runs, in KiB:
        /// the resident set without the binary's own pages.
        public var agentPeakAnonymousKiB: Int?
        /// nginx's workers' resident sets at the end, in KiB.
        public var nginxRSSKiB: Int?
        var benchmark: ProxyBenchmark

        /// The table and the summary lines.
        public func write(to output: (String) -> Void) {
            let bench = benchmark
            let rows: [[Cell]] = Target.allCases.flatMap { target in
                [(Load.flatOut, "flat out"), (.paced, "paced \(bench.paceMs) ms")].compactMap { load, name -> [Cell]? in
                    guard let run = runs[target]?[load] else { return nil }
                    return [.text(target.rawValue), .text(name), .number(run.requestsPerSecond, digits: 0), .number(run.p50Ms, digits: 3),
                            .number(run.p99Ms, digits: 3), .integer(Int64(run.requests)), .integer(Int64(run.non2xx)),
                            .number(run.cpuMsPer1000, digits: 1)]
                }
            }
            let what = bench.stream.map { "\(bench.connections) concurrent streams of \($0.chunks) chunks \($0.intervalMs) ms apart" }
                ?? "\(bench.connections) connections"
            output("medians of \(bench.runs) runs of \(bench.seconds)s, \(what), \(bench.tls ? "TLS" : "plain HTTP") upstream:\n")
            Report(columns: ["target", "load", bench.stream == nil ? "requests_per_s" : "streams_per_s", "p50_ms", "p99_ms", "requests", "non_2xx",
                             "cpu_ms_per_1k"], rows: rows)
                .render(.table, to: output)
            func added(_ target: Target) -> String {
                guard let paced = runs[target]?[.paced], let direct = runs[.direct]?[.paced] else { return "-" }
                return "p50 \(Format.fixed(paced.p50Ms - direct.p50Ms, digits: 3)) ms, p99 \(Format.fixed(paced.p99Ms - direct.p99Ms, digits: 3)) ms"
            }
            var lines = bench.stream == nil ? ["added latency, paced: errwatch \(added(.agent)); nginx \(added(.nginx))"] : []
            if bench.stream != nil, let agent = runs[.agent]?[.flatOut], let nginx = runs[.nginx]?[.flatOut] {
                lines.append("errwatch - nginx, whole-stream time: p50 \(Format.fixed(agent.p50Ms - nginx.p50Ms, digits: 1)) ms, "
                    + "p99 \(Format.fixed(agent.p99Ms - nginx.p99Ms, digits: 1)) ms")
            }
            if let agent = runs[.agent]?[.flatOut], let nginx = runs[.nginx]?[.flatOut] {
                lines.append("errwatch/nginx, flat out: throughput \(Format.fixed(agent.requestsPerSecond / nginx.requestsPerSecond, digits: 2))"
                    + (agent.cpuMsPer1000.flatMap { a in nginx.cpuMsPer1000.map { n in ", CPU per request \(Format.fixed(a / n, digits: 2))" } } ?? ""))
            }
            lines.append("agent peak RSS: \(agentPeakRSSKiB.map { "\($0 / 1024) MiB" } ?? "unknown")"
                + (agentPeakAnonymousKiB.map { " (anonymous memory, without the binary's pages: \($0 / 1024) MiB)" } ?? "")
                + (nginxRSSKiB.map { "; nginx workers' RSS: \($0 / 1024) MiB" } ?? "")
                + "; calls answered \(sent), recorded \(recorded)"
                + (recordedErrors.isEmpty ? "" : ", errors among them: " + recordedErrors.map { "\($0.calls) \($0.code)" }.joined(separator: ", ")))
            output(lines.joined(separator: "\n") + "\n")
        }
    }

    /// Starts the fake upstream, nginx and the agent, warms each, runs the loads in turn, and
    /// reads back what the agent recorded. `progress` hears each run.
    public func run(progress: (String) -> Void) throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("errwatch-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let body = stream == nil ? #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}"#
            : #"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hello"}]}"#
        let request = """
            wrk.method = "POST"
            wrk.body = '\(body)'
            wrk.headers["Content-Type"] = "application/json"
            wrk.headers["Authorization"] = "Bearer sk-bench-not-a-real-key-000"

            """
        let script = directory.appendingPathComponent("post.lua").path
        try Data(request.utf8).write(to: URL(fileURLWithPath: script))
        let pacedScript = directory.appendingPathComponent("paced.lua").path
        try Data((request + "function delay() return \(paceMs) end\n").utf8).write(to: URL(fileURLWithPath: pacedScript))

        var certificates: BenchCertificates?
        if tls {
            guard let openssl else { throw BenchFailure("A TLS upstream needs openssl for its certificates.") }
            certificates = try BenchCertificates(openssl: openssl, directory: directory)
        }
        let tlsFlags = certificates.map { ["--tls-cert", $0.certificateFile, "--tls-key", $0.keyFile] } ?? []
        let streamFlags = stream.map {
            ["--stream-chunks", String($0.chunks), "--chunk-interval", "\($0.intervalMs)ms", "--stream-errors", String($0.errorShare)]
        } ?? []
        let upstream = try Child(binary, ["mock-upstream", "--listen", "127.0.0.1:0", "--mix", ""] + tlsFlags + streamFlags,
                                 marker: "mock upstream listening")
        defer { upstream.stop() }
        let upstreamBase = tls ? "https://localhost:\(upstream.port)/v1" : "http://127.0.0.1:\(upstream.port)/v1"
        let database = directory.appendingPathComponent("bench.db").path
        let agent = try Child(binary, ["agent", "--listen", "127.0.0.1:0", "--upstream", upstreamBase, "--db", database],
                              environment: certificates.map { ["ERRWATCH_TLS_CA_FILE": $0.caFile] } ?? [:],
                              marker: "errwatch agent listening")
        defer { agent.stop() }
        let peer = try nginx.map { try NginxPeer(nginx: $0, directory: directory, upstreamPort: upstream.port, caFile: certificates?.caFile) }
        defer { peer?.stop() }

        var urls: [Target: String] = [.direct: upstreamBase + "/chat/completions", .agent: "http://127.0.0.1:\(agent.port)/v1/chat/completions"]
        if let peer { urls[.nginx] = "http://127.0.0.1:\(peer.port)/v1/chat/completions" }
        let cpu: [Target: () -> Double] = [.agent: agent.cpuSeconds, .nginx: { peer?.cpuSeconds() ?? 0 }]
        let targets = Target.allCases.filter { urls[$0] != nil }

        let load = { (target: Target, script: String) throws -> Run in
            let before = cpu[target]?()
            let output = try Self.capture(wrk, ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", "--timeout", "60s", "--latency",
                                                "-s", script, urls[target]!])
            guard var run = Self.parse(output) else { throw BenchFailure("Could not read wrk's output:\n\(output)") }
            if let before, let after = cpu[target]?(), run.requests > 0 {
                run.cpuMsPer1000 = (after - before) * 1_000_000 / Double(run.requests)
            }
            return run
        }
        // A short warm-up of each, then the measured runs, the targets taking turns.
        var warmUp = 0
        for target in targets {
            let output = try Self.capture(wrk, ["-t1", "-c4", "-d1s", "--timeout", "60s", "--latency", "-s", script, urls[target]!])
            if target == .agent { warmUp = Self.parse(output)?.requests ?? 0 }
        }
        var measured: [Target: [Load: [Run]]] = [:]
        let anonymous = Child.AnonymousPeak(of: agent)
        for run in 1...runs {
            for target in targets {
                measured[target, default: [:]][.flatOut, default: []].append(try load(target, script))
                if stream == nil { measured[target, default: [:]][.paced, default: []].append(try load(target, pacedScript)) }
            }
            progress("run \(run): " + targets.map { target in
                let flat = measured[target]![.flatOut]!.last!
                return "\(target.rawValue) \(Int(flat.requestsPerSecond))/s, p99 \(Format.fixed(flat.p99Ms, digits: 3)) ms"
                    + (measured[target]![.paced]?.last.map { ", paced p99 \(Format.fixed($0.p99Ms, digits: 3)) ms" } ?? "")
            }.joined(separator: "; "))
        }
        let medians = measured.mapValues { $0.mapValues(Self.median) }
        let sent = warmUp + (measured[.agent].map { ($0[.flatOut] ?? []) + ($0[.paced] ?? []) }?.reduce(0) { $0 + $1.requests } ?? 0)
        let peakRSS = agent.peakRSSKiB()
        let peakAnonymous = anonymous.stop()
        let nginxRSS = peer?.rssKiB()
        agent.stop()
        let store = try Store.open(path: database)
        let everything = Filter(since: 0, until: Int64.max / 2)
        let recorded = try store.rates(everything, by: [])[0].calls
        let errors = try store.rates(everything, by: [.code]).filter { !$0.group[0].isEmpty && $0.errors > 0 }.map { ($0.group[0], $0.errors) }
        return Result(runs: medians, sent: sent, recorded: recorded, recordedErrors: errors, agentPeakRSSKiB: peakRSS,
                      agentPeakAnonymousKiB: peakAnonymous, nginxRSSKiB: nginxRSS, benchmark: self)
    }

    /// The median of each figure over `runs`.
    static func median(_ runs: [Run]) -> Run {
        let cpu = runs.compactMap(\.cpuMsPer1000)
        return Run(requestsPerSecond: Measure.median(runs.map(\.requestsPerSecond)), p50Ms: Measure.median(runs.map(\.p50Ms)),
                   p99Ms: Measure.median(runs.map(\.p99Ms)), requests: Int(Measure.median(runs.map { Double($0.requests) })),
                   non2xx: runs.reduce(0) { $0 + $1.non2xx }, cpuMsPer1000: cpu.isEmpty ? nil : Measure.median(cpu))
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
