import Foundation

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
            if chunk.isEmpty { throw BenchFailure("\(arguments[0]) exited before listening:\n\(pending)") }
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
