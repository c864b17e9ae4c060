import ArgumentParser
@testable import ErrWatchCLI
import Foundation
import Synchronization

/// What a command printed and how it ended, run in process like the executable would run it.
struct CommandResult {
    var stdout: String
    var stderr: String
    var exitCode: Int32
}

/// Collects text written from any thread.
final class Capture: Sendable {
    private let text = Mutex("")
    func append(_ more: String) { text.withLock { $0 += more } }
    var value: String { text.withLock { $0 } }
}

/// Runs `errwatch ARGUMENTS` in process with the given environment, clock and standard input.
func errwatch(_ arguments: [String], environment: [String: String] = [:], now: Int64, stdin: String = "") async -> CommandResult {
    let out = Capture(), err = Capture()
    let input = Pipe()
    input.fileHandleForWriting.write(Data(stdin.utf8))
    try? input.fileHandleForWriting.close()
    let context = CommandContext(
        environment: environment, now: { now },
        standardOutput: { out.append($0) }, standardError: { err.append($0) },
        standardInput: { input.fileHandleForReading })
    var exitCode: Int32 = 0
    // As `ErrWatchCommand.main` does: a parse error with the root's words, a run error with the
    // command's own usage.
    var parsed: (any ParsableCommand)?
    do {
        var command = try ErrWatchCommand.parseCommand(arguments)
        parsed = command
        try await CommandContext.$current.withValue(context) {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        }
    } catch {
        let type: any ParsableCommand.Type = parsed.map { Swift.type(of: $0) } ?? ErrWatchCommand.self
        let (message, code) = parsed == nil
            ? (ErrWatchCommand.fullMessage(for: error), ErrWatchCommand.exitCode(for: error))
            : ErrWatchCommand.failure(error, in: type)
        exitCode = code.rawValue
        if !message.isEmpty { err.append(message + "\n") }
    }
    return CommandResult(stdout: out.value, stderr: err.value, exitCode: exitCode)
}
