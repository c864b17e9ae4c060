/// Where the client library reports each attempt (`ErrWatchClient`'s recorder). Recording
/// never slows a call or makes it fail: `record` returns at once and does not throw; what
/// cannot be kept is dropped and counted.
///
/// The client library ships `AgentRecorder` (to a running agent); the store's `BatchWriter`
/// is one too (to a local database), so that an app embedding the client links SQLite only
/// when it records locally.
public protocol OutcomeRecorder: Sendable {
    /// Takes one attempt's outcome.
    func record(_ outcome: CallOutcome)
}
