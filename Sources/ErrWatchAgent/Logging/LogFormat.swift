import ErrWatchCore
import Foundation
import Logging
import Synchronization

/// How the agent writes its log lines to standard error: `text` for a person at a terminal,
/// `json` (one object per line) for a log pipeline (journald, Vector, Loki, a container runtime).
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json

    /// Text on a terminal, JSON otherwise: what a supervisor or a container captures is read by
    /// machines.
    public static var standard: LogFormat { isatty(STDERR_FILENO) == 1 ? .text : .json }

    /// A logger labelled `label` writing in this format at `level` and above, to standard error.
    /// No global bootstrap: each command makes its own, so commands run in one process (as the
    /// tests run them) do not fight over swift-log's one-time setup.
    public func logger(label: String, level: Logger.Level) -> Logger {
        var logger = Logger(label: label) { label in
            switch self {
            case .text: StreamLogHandler.standardError(label: label)
            case .json: JSONLogHandler(label: label, write: JSONLogHandler.standardError)
            }
        }
        logger.logLevel = level
        return logger
    }
}

/// Writes each log event as one JSON object on one line: `time` (UTC, milliseconds), `level`,
/// `logger` (the label), `source` (the module that logged), `message`, then the event's metadata as string fields. Every text is
/// redacted as recorded text is (an API key in an upstream's error message does not reach the
/// log) and control characters are escaped, so a line is always one line.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let label: String
    private let write: @Sendable (String) -> Void

    /// Standard error, one whole line per write (lines from threads never interleave).
    public static let standardError: @Sendable (String) -> Void = { line in
        lock.withLock { _ in
            let bytes = Array(line.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Foundation.write(STDERR_FILENO, $0.baseAddress, $0.count) }
                if written <= 0 { return }
                offset += written
            }
        }
    }
    private static let lock = Mutex(())

    /// A handler for `label` giving each line to `write`.
    public init(label: String, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let own = event.metadata { fields.merge(own) { _, new in new } }
        var line: [(String, JSONOutput)] = [
            ("time", .string(Timestamp.iso8601(Timestamp.now()))), ("level", .string(event.level.rawValue)),
            ("logger", .string(label)), ("source", .string(event.source)),
            ("message", .string(Redactor.redact(event.message.description))),
        ]
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) where !Self.reserved.contains(key) {
            line.append((key, .string(Redactor.redact(Self.text(value)))))
        }
        write(JSONOutput.object(line).text() + "\n")
    }

    /// The fields every line has; metadata of the same name is left out rather than repeated.
    private static let reserved: Set<String> = ["time", "level", "logger", "source", "message"]

    private static func text(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let value): value.description
        case .array(let values): "[" + values.map(text).joined(separator: ", ") + "]"
        case .dictionary(let values): "{" + values.sorted { $0.key < $1.key }.map { "\($0.key): \(text($0.value))" }.joined(separator: ", ") + "}"
        }
    }
}
