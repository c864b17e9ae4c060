@testable import ErrWatchAgent
@testable import ErrWatchClient
import ErrWatchCore
@testable import ErrWatchMock
import ErrWatchTestKit
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Collects what the client records and how long it was told to wait, without waiting.
final class Observed: OutcomeRecorder, Sendable {
    private let outcomes = Mutex<[CallOutcome]>([])
    private let waits = Mutex<[Duration]>([])
    private let started = ContinuousClock.now

    func record(_ outcome: CallOutcome) { outcomes.withLock { $0.append(outcome) } }
    var recorded: [CallOutcome] { outcomes.withLock { $0 } }
    var waited: [Duration] { waits.withLock { $0 } }

    /// Time in which waits pass at once: they are noted and added to the clock (cancellation
    /// is still honoured).
    var timing: ErrWatchClient.Timing {
        ErrWatchClient.Timing(
            now: { [self] in ContinuousClock.now + self.waited.reduce(.zero, +) },
            sleep: { [self] duration in
                try Task.checkCancellation()
                self.waits.withLock { $0.append(duration) }
            })
    }
}

/// Runs `body` with the fake upstream listening on 127.0.0.1 port 0; stops it afterwards.
func withUpstream(streamChunks: Int = 8, chunkDelayMs: Int64 = 0, _ body: (String) async throws -> Void) async throws {
    var configuration = MockUpstream.Configuration()
    configuration.mix = []
    configuration.port = 0
    configuration.streamChunks = streamChunks
    configuration.chunkDelayMs = chunkDelayMs
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let mock = MockUpstream(configuration: configuration, logger: logger)
    try await withServer(logger: logger, { [mock.application(onServerRunning: $0)] }) { port in
        try await body("http://127.0.0.1:\(port)/v1")
    }
}

let chatBody = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#
