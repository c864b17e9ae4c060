import ErrWatchCore
import ErrWatchStore
import Foundation

/// What a command reads from and writes to beyond its arguments: the environment, the clock
/// and the two output streams. Commands read it from a task-local, so tests run them in
/// process with their own context and capture what they print.
public struct CommandContext: Sendable {
    /// The environment variables (for `ERRWATCH_DB`).
    public var environment: [String: String]
    /// The current time, UTC milliseconds.
    public var now: @Sendable () -> Int64
    /// Writes to standard output.
    public var standardOutput: @Sendable (String) -> Void
    /// Writes to standard error.
    public var standardError: @Sendable (String) -> Void
    /// Reads standard input, for `ingest -`.
    public var standardInput: @Sendable () -> FileHandle

    /// The process's own environment, clock and streams.
    public static let process = CommandContext(
        environment: ProcessInfo.processInfo.environment,
        now: Timestamp.now,
        standardOutput: { text in FileHandle.standardOutput.write(Data(text.utf8)) },
        standardError: { text in FileHandle.standardError.write(Data(text.utf8)) },
        standardInput: { FileHandle.standardInput })

    /// The context commands run in.
    @TaskLocal public static var current = CommandContext.process

    /// The host name outcomes are recorded under, as the agent's are: `ERRWATCH_HOST_NAME`
    /// when set; nil for this machine's own.
    public var hostName: String? {
        environment["ERRWATCH_HOST_NAME"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A context with the given parts.
    public init(
        environment: [String: String], now: @escaping @Sendable () -> Int64,
        standardOutput: @escaping @Sendable (String) -> Void, standardError: @escaping @Sendable (String) -> Void,
        standardInput: @escaping @Sendable () -> FileHandle
    ) {
        self.environment = environment
        self.now = now
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.standardInput = standardInput
    }

    /// Prints a line to standard output.
    func print(_ line: String = "") { standardOutput(line + "\n") }
    /// Prints a line to standard error.
    func warn(_ line: String) { standardError(line + "\n") }

    /// Says on standard error what a query from `since` misses because retention deleted it.
    func noteRetention(_ store: Store, since: Int64, reading kinds: [RetentionKind]) throws {
        for note in try store.retentionNotes(since: since, reading: kinds) { warn("note: " + note.text) }
    }
}
