import ErrWatchCore
import Foundation
import Synchronization

/// Runs a `command` notifier's program: the alert as JSON on its standard input and in its
/// environment, killed when it outlives its timeout. Exit status 0 is delivered.
///
/// The program gets a minimal environment, not the agent's (which may hold
/// `ERRWATCH_AUTH_TOKEN` or notifier URLs with secrets in them): `PATH`, `HOME`, `LANG`, `TZ`
/// where the agent has them, and the alert's `ERRWATCH_ALERT_*` variables. It runs in a process
/// group of its own (Foundation starts it so), and on timeout the whole group is killed, so a
/// shell's children do not live on. Its standard error is read as it comes, so a chatty program
/// never blocks on a full pipe; the first 300 bytes are kept for the delivery record.
enum CommandRunner {
    /// The agent's variables a program inherits.
    static let inherited = ["PATH", "HOME", "LANG", "LC_ALL", "TZ"]

    /// The environment a notifier's program runs with: the inherited few, then the alert's.
    static func environment(_ alert: [String: String], from agent: [String: String]) -> [String: String] {
        var environment = agent.filter { inherited.contains($0.key) }
        if environment["PATH"] == nil { environment["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        return environment.merging(alert) { _, new in new }
    }

    static func run(_ command: [String], input: String, environment: [String: String], timeoutMs: Int64) async -> NotifierDispatcher.Attempt {
        guard let program = command.first else {
            return NotifierDispatcher.Attempt(delivered: false, retryable: false, error: "no command")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program.contains("/") ? program : "/usr/bin/env")
        process.arguments = program.contains("/") ? Array(command.dropFirst()) : command
        process.environment = Self.environment(environment, from: ProcessInfo.processInfo.environment)
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        let stderr = Pipe()
        process.standardError = stderr
        let kept = StderrKeeper()
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty { handle.readabilityHandler = nil } else { kept.append(chunk) }
        }
        defer { stderr.fileHandleForReading.readabilityHandler = nil }
        let finished = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { process in
            finished.continuation.yield(process.terminationStatus)
            finished.continuation.finish()
        }
        do {
            try process.run()
        } catch {
            return NotifierDispatcher.Attempt(delivered: false, retryable: false, error: "cannot run \(program): \(error.localizedDescription)")
        }
        // A program that does not read its input must not block us: write from elsewhere.
        DispatchQueue.global().async {
            try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        let status: Int32? = await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                var iterator = finished.stream.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(timeoutMs))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let status else {
            // The whole group: a shell's children too.
            kill(-process.processIdentifier, SIGKILL)
            return NotifierDispatcher.Attempt(delivered: false, retryable: true, error: "\(program) did not finish within \(DurationText.format(timeoutMs))")
        }
        if status == 0 { return NotifierDispatcher.Attempt(delivered: true, retryable: false, status: 0) }
        let message = String(decoding: kept.bytes, as: UTF8.self)
        return NotifierDispatcher.Attempt(delivered: false, retryable: true, status: Int(status),
                                          error: "\(program) exited with status \(status)" + (message.isEmpty ? "" : ": \(message)"))
    }
}

/// The first bytes a program wrote to its standard error; the rest is read and dropped.
final class StderrKeeper: Sendable {
    private let kept = Mutex(Data())
    static let limit = 300

    func append(_ chunk: Data) {
        kept.withLock { kept in
            if kept.count < Self.limit { kept += chunk.prefix(Self.limit - kept.count) }
        }
    }

    var bytes: Data { kept.withLock { $0 } }
}
