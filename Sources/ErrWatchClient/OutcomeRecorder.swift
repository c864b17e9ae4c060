import ErrWatchCore
import ErrWatchStore

/// Where ``ErrWatchClient`` reports each attempt. Recording never slows a call or makes it fail:
/// `record` returns at once and does not throw; what cannot be kept is dropped and counted.
public protocol OutcomeRecorder: Sendable {
    /// Takes one attempt's outcome.
    func record(_ outcome: CallOutcome)
}

/// Records into a local errwatch database through its batch writer (which must be running).
public struct StoreRecorder: OutcomeRecorder {
    /// The writer outcomes go to.
    public let writer: BatchWriter

    /// A recorder handing outcomes to `writer`.
    public init(writer: BatchWriter) { self.writer = writer }

    public func record(_ outcome: CallOutcome) { writer.submit(outcome) }
}
