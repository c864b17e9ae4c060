import ErrWatchCore
import Foundation

/// Runs a `command` notifier's program: the alert as JSON on its standard input and in its
/// environment, killed when it outlives its timeout. Exit status 0 is delivered.
enum CommandRunner {
    static func run(_ command: [String], input: String, environment: [String: String], timeoutMs: Int64) async -> NotifierDispatcher.Attempt {
        guard let program = command.first else {
            return NotifierDispatcher.Attempt(delivered: false, retryable: false, error: "no command")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program.contains("/") ? program : "/usr/bin/env")
        process.arguments = program.contains("/") ? Array(command.dropFirst()) : command
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        let stderr = Pipe()
        process.standardError = stderr
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
            process.terminate()
            return NotifierDispatcher.Attempt(delivered: false, retryable: true, error: "\(program) did not finish within \(DurationText.format(timeoutMs))")
        }
        if status == 0 { return NotifierDispatcher.Attempt(delivered: true, retryable: false, status: 0) }
        let message = String(decoding: stderr.fileHandleForReading.availableData.prefix(300), as: UTF8.self)
        return NotifierDispatcher.Attempt(delivered: false, retryable: true, status: Int(status),
                                          error: "\(program) exited with status \(status)" + (message.isEmpty ? "" : ": \(message)"))
    }
}
