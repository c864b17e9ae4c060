import ArgumentParser
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch bench proxy`.
struct BenchProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Measures what the recording proxy adds: wrk straight to a fake upstream, then through the agent.",
        discussion: helpText("""
            Starts `errwatch mock-upstream` (no errors, no latency) and `errwatch agent` in front of
            it, as separate processes, recording into a fresh database. Loads each with wrk (Debian
            package `wrk`) at the same concurrency and length — first the upstream directly, then
            through the agent — twice: flat out (each connection sends its next request as soon as
            the last is answered: the throughput), and paced (each connection waits --pace between
            requests, as apps do: the latency the agent adds, compared at the same offered load).
            Prints requests/s, p50 and p99 latency of each, what the agent adds, and its peak RSS.

            Flat out, both targets saturate the machine at different rates, so the difference of
            their latencies measures the saturation more than the agent; the paced runs are the
            added-latency figure.

            Example:
              swift run -c release errwatch bench proxy --connections 32 --duration 10s
            """))

    @Option(help: "Concurrent connections.")
    var connections = 32
    @Option(help: ArgumentHelp("Length of each load run.", valueName: "duration"))
    var duration = "10s"
    @Option(help: "wrk threads.")
    var threads = 2
    @Option(help: "Runs of each target, alternating; medians are printed.")
    var runs = 3
    @Option(help: ArgumentHelp("Pause between a connection's requests in the paced runs (whole milliseconds).", valueName: "duration"))
    var pace = "2ms"

    struct Run {
        var requestsPerSecond: Double
        var p50Ms: Double
        var p99Ms: Double
        var requests: Int
        var non2xx: Int
    }

    func run() async throws {
        let context = CommandContext.current
        let seconds = try parseDuration(duration, option: "--duration") / 1_000
        let paceMs = try parseDuration(pace, option: "--pace")
        guard seconds >= 1, (1...1_000).contains(connections), (1...16).contains(threads), (1...20).contains(runs), (1...1_000).contains(paceMs) else {
            throw ValidationError("Give --duration of at least 1s, --connections from 1 to 1000, --threads from 1 to 16, --runs from 1 to 20 and --pace from 1ms to 1s.")
        }
        guard let wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ValidationError("bench proxy needs wrk; install it with 'apt-get install wrk'.")
        }
        #if DEBUG
        context.warn("warning: this is a debug build; measure with 'swift run -c release errwatch bench proxy'.")
        #endif
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
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
            guard let run = Self.parse(output) else { throw ValidationErrorText("Could not read wrk's output:\n\(output)") }
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
            context.warn("""
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
        let rows: [[Cell]] = [("upstream directly", "flat out", direct), ("through the agent", "flat out", proxied),
                              ("upstream directly", "paced \(paceMs) ms", pacedDirect), ("through the agent", "paced \(paceMs) ms", pacedProxied)]
            .map { name, mode, run in
                [.text(name), .text(mode), .number(run.requestsPerSecond, digits: 0), .number(run.p50Ms, digits: 3), .number(run.p99Ms, digits: 3),
                 .integer(Int64(run.requests)), .integer(Int64(run.non2xx))]
            }
        context.print("medians of \(runs) runs of \(seconds)s at \(connections) connections:")
        Report(columns: ["target", "load", "requests_per_s", "p50_ms", "p99_ms", "requests", "non_2xx"], rows: rows)
            .render(.table, to: context.standardOutput)
        context.print("""
            throughput through the agent: \(Int(proxied.requestsPerSecond)) requests/s, \
            \(Format.fixed(proxied.requestsPerSecond / direct.requestsPerSecond * 100, digits: 1))% of direct
            added latency, paced: p50 \(Format.fixed(pacedProxied.p50Ms - pacedDirect.p50Ms, digits: 3)) ms, \
            p99 \(Format.fixed(pacedProxied.p99Ms - pacedDirect.p99Ms, digits: 3)) ms \
            (flat out: p50 \(Format.fixed(proxied.p50Ms - direct.p50Ms, digits: 3)) ms, p99 \(Format.fixed(proxied.p99Ms - direct.p99Ms, digits: 3)) ms)
            agent peak RSS: \(peakRSS.map { "\($0 / 1024) MiB" } ?? "unknown"); outcomes recorded: \(recorded) (the measured runs sent \(sent), plus a warm-up)
            """)
    }

    /// The median of each figure over `runs`.
    static func median(_ runs: [Run]) -> Run {
        Run(requestsPerSecond: ErrWatchCLI.median(runs.map(\.requestsPerSecond)), p50Ms: ErrWatchCLI.median(runs.map(\.p50Ms)),
            p99Ms: ErrWatchCLI.median(runs.map(\.p99Ms)), requests: Int(ErrWatchCLI.median(runs.map { Double($0.requests) })),
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

/// An errwatch process the benchmark starts, with the port it reported listening on.
final class Child {
    let process = Process()
    private(set) var port = 0

    init(_ binary: String, _ arguments: [String], marker: String) throws {
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let handle = pipe.fileHandleForReading
        var pending = ""
        while port == 0 {
            let chunk = handle.availableData
            if chunk.isEmpty { throw ValidationErrorText("\(arguments[0]) exited before listening:\n\(pending)") }
            pending += String(decoding: chunk, as: UTF8.self)
            if let line = pending.split(separator: "\n").first(where: { $0.contains(marker) }),
               let range = line.range(of: "http://127.0.0.1:") {
                port = Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
            }
        }
        // Keep draining its log so it never blocks on a full pipe.
        Thread { while !handle.availableData.isEmpty {} }.start()
    }

    /// The process's peak resident set (VmHWM), in KiB.
    func peakRSSKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") }
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
