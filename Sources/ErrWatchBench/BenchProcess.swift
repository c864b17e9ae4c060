import Foundation
import Synchronization

/// An errwatch process the benchmark starts, with the port it reported listening on.
final class Child {
    let process = Process()
    private(set) var port = 0

    init(_ binary: String, _ arguments: [String], environment: [String: String] = [:], marker: String) throws {
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let handle = pipe.fileHandleForReading
        var pending = ""
        while port == 0 {
            let chunk = handle.availableData
            if chunk.isEmpty { throw BenchFailure("\(arguments[0]) exited before listening:\n\(pending)") }
            pending += String(decoding: chunk, as: UTF8.self)
            if let line = pending.split(separator: "\n").first(where: { $0.contains(marker) }),
               let range = line.range(of: "://127.0.0.1:") {
                port = Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
            }
        }
        // Keep draining its log so it never blocks on a full pipe.
        Thread { while !handle.availableData.isEmpty {} }.start()
    }

    /// CPU time the process has used so far, user and system, in seconds.
    func cpuSeconds() -> Double { CPUTime.seconds(of: [process.processIdentifier]) }

    /// The process's peak resident set (VmHWM), in KiB.
    func peakRSSKiB() -> Int? {
        Self.status("VmHWM:", of: process.processIdentifier)
    }

    /// A figure of `/proc/PID/status`, in KiB.
    static func status(_ field: String, of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix(field) }
        return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") }
    }

    /// Reads the process's resident anonymous memory (RssAnon: its own heap and stacks, not
    /// the binary's pages, which the page cache holds and shares) ten times a second until
    /// stopped, and keeps the largest: the kernel keeps a peak of the whole resident set only.
    final class AnonymousPeak: Sendable {
        private let state = Mutex((peak: 0, stopped: false))

        init(of child: Child) {
            let pid = child.process.processIdentifier
            Thread { [self] in
                while !state.withLock({ $0.stopped }) {
                    if let kib = Child.status("RssAnon:", of: pid) { state.withLock { $0.peak = max($0.peak, kib) } }
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }.start()
        }

        /// Stops sampling; the largest value seen, nil when none was.
        func stop() -> Int? {
            let peak = state.withLock { state in
                state.stopped = true
                return state.peak
            }
            return peak > 0 ? peak : nil
        }
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// CPU time of processes, from `/proc/PID/stat` (user and system time, in clock ticks).
enum CPUTime {
    static func seconds(of processes: [Int32]) -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return processes.reduce(0) { total, pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { return total }
            // After the command name: state is field 3, utime field 14, stime field 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return total }
            return total + (user + system) / ticks
        }
    }

    /// `parent`'s children (nginx's workers).
    static func children(of parent: Int32) -> [Int32] {
        guard let text = try? String(contentsOfFile: "/proc/\(parent)/task/\(parent)/children", encoding: .utf8) else { return [] }
        return text.split(separator: " ").compactMap { Int32($0) }
    }
}
