import ErrWatchCore
import Foundation
import GRDB
import Logging
import Synchronization

/// The one writer in front of the database: producers hand outcomes over without waiting, and
/// the writer commits them in batches, one transaction each.
///
/// - A batch is written when ``Configuration-swift.struct/batchSize`` outcomes are waiting or
///   ``Configuration-swift.struct/flushInterval`` has passed, whichever comes first.
/// - The queue is bounded: when it is full, ``submit(_:)`` drops the outcome, counts it, and
///   logs at most one line per ``Configuration-swift.struct/dropLogInterval``. A producer never blocks.
/// - A failed write (locked, disk full, read-only) is retried with backoff, then its outcomes
///   are counted as dropped. Nothing crashes; the next batch tries again.
/// - ``shutdown()`` writes everything accepted before it, then ``run()`` returns.
///
/// ``run()`` must be running for anything to be written; the agent runs it as a service.
public final class BatchWriter: Sendable {
    /// Sizes and intervals of the writer.
    public struct Configuration: Sendable {
        /// Outcomes per transaction at most, and the count that triggers a write at once.
        public var batchSize = 1_000
        /// The longest an accepted outcome waits before it is written.
        public var flushInterval: Duration = .milliseconds(100)
        /// Outcomes the queue holds before it drops.
        public var capacity = 100_000
        /// Waits between attempts of a failed write; its length is the number of retries.
        public var retryDelays: [Duration] = [.milliseconds(50), .milliseconds(250), .seconds(1)]
        /// The least time between two log lines about drops.
        public var dropLogInterval: Duration = .seconds(10)
        /// How often rollups are brought up to date after writes.
        public var rollupInterval: Duration = .seconds(60)

        /// The defaults: batches of 1,000, 100 ms, a queue of 100,000, three retries.
        public init() {}
    }

    /// Counters since the writer was made.
    public struct Statistics: Sendable, Hashable {
        /// Outcomes taken into the queue.
        public var accepted: Int = 0
        /// Outcomes committed to the database (records: an aggregated success counts once).
        public var written: Int = 0
        /// Error rows among them.
        public var errorsWritten: Int = 0
        /// Outcomes refused because the queue was full (or the writer shut down).
        public var droppedQueueFull: Int = 0
        /// Outcomes given up after their write failed every retry.
        public var droppedWriteFailed: Int = 0
        /// Write attempts that failed (each retry counts).
        public var failedWrites: Int = 0
        /// Transactions committed.
        public var batches: Int = 0
        /// Outcomes waiting now.
        public var queued: Int = 0
        /// When an outcome was last dropped, for whatever reason; nil if never.
        public var lastDropAt: ContinuousClock.Instant?

        /// All outcomes lost, for whatever reason.
        public var dropped: Int { droppedQueueFull + droppedWriteFailed }

        /// Nothing counted yet.
        public init() {}
    }

    private struct State {
        /// Batches full to ``Configuration-swift.struct/batchSize`` outcomes, oldest first.
        var sealed: [OutcomeBatch] = []
        /// The batch producers are adding to now.
        var open: OutcomeBatch
        /// Outcomes in `sealed` and `open`.
        var queued = 0
        var statistics = Statistics()
        /// Outcomes accepted so far, and outcomes finished (written or dropped after acceptance).
        var acceptedSequence: UInt64 = 0
        var finishedSequence: UInt64 = 0
        /// The writer thread sleeps on `wakeup` and wants a signal.
        var writerWaiting = false
        var flushWaiters: [(UInt64, CheckedContinuation<Void, Never>)] = []
        var acceptWaiters: [(UInt64, CheckedContinuation<Void, Never>)] = []
        var flushRequested = false
        var shuttingDown = false
        var finished = false
        var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
        var lastDropLog: ContinuousClock.Instant?
        var droppedSinceLog = 0
        var lastRollup: ContinuousClock.Instant?
        /// When the writer's thread last showed it is alive: each pass of its loop (at least
        /// every flush interval) and each write attempt.
        var lastBeat = ContinuousClock.now

        /// Resumes those waiting for a count of accepted outcomes that has been reached.
        mutating func resumeAcceptWaiters() {
            let reached = acceptWaiters.filter { $0.0 <= acceptedSequence }
            acceptWaiters.removeAll { $0.0 <= acceptedSequence }
            reached.forEach { $0.1.resume() }
        }

        /// Whether the writer sleeps and needs a signal; clears the flag.
        mutating func takeWriterWaiting() -> Bool {
            defer { writerWaiting = false }
            return writerWaiting
        }

        /// Whether the writer should write now rather than wait for the interval.
        var hasUrgentWork: Bool {
            !sealed.isEmpty || ((flushRequested || shuttingDown) && !open.isEmpty) || shuttingDown
        }

        /// The next batch to write: the oldest sealed one, else the open one.
        mutating func takeBatch() -> OutcomeBatch {
            let batch: OutcomeBatch
            if sealed.isEmpty {
                batch = open
                open = OutcomeBatch(host: open.host)
            } else {
                batch = sealed.removeFirst()
            }
            queued -= batch.records
            if queued == 0 { flushRequested = false }
            return batch
        }
    }

    private let store: Store
    private let configuration: Configuration
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let state: Mutex<State>
    /// Wakes the writer thread early (a batch sealed, a flush or shutdown asked for).
    private let wakeup = DispatchSemaphore(value: 0)

    /// A writer into `store`. `now` is the wall clock in UTC milliseconds, used for rollups.
    public init(
        store: Store, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "errwatch.writer"),
        now: @escaping @Sendable () -> Int64 = Timestamp.now
    ) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.now = now
        state = Mutex(State(open: OutcomeBatch(host: store.hostName)))
    }

    /// The counters now.
    public var statistics: Statistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.queued = state.queued
            return statistics
        }
    }

    /// Hands `outcome` to the writer; false when it was dropped (queue full or shut down).
    /// Never waits on the database.
    @discardableResult
    public func submit(_ outcome: CallOutcome) -> Bool {
        let (accepted, wake, log) = state.withLock { state -> (Bool, Bool, Int?) in
            guard !state.shuttingDown, state.queued < configuration.capacity else {
                state.statistics.droppedQueueFull += 1
                state.statistics.lastDropAt = .now
                return (false, false, dropLogDue(&state, count: 1))
            }
            // Aggregating here, on the producer's thread, leaves the one writer only writing.
            state.open.add(outcome)
            state.queued += 1
            state.acceptedSequence += 1
            state.statistics.accepted += 1
            if !state.acceptWaiters.isEmpty { state.resumeAcceptWaiters() }
            guard state.open.records >= configuration.batchSize else { return (true, false, nil) }
            state.sealed.append(state.open)
            state.open = OutcomeBatch(host: store.hostName)
            return (true, state.takeWriterWaiting(), nil)
        }
        if wake { wakeup.signal() }
        if let log {
            logger.warning("Recording queue full; outcomes dropped", metadata: ["dropped": "\(log)", "capacity": "\(configuration.capacity)"])
        }
        return accepted
    }

    /// Waits until `count` outcomes in all have been accepted (for tests and live views that
    /// must know an outcome was handed over, without polling).
    public func waitUntilAccepted(_ count: Int) async {
        await withCheckedContinuation { continuation in
            state.withLock { state in
                if state.acceptedSequence >= UInt64(count) {
                    continuation.resume()
                } else {
                    state.acceptWaiters.append((UInt64(count), continuation))
                }
            }
        }
    }

    /// Waits until every outcome accepted before this call is written or dropped.
    public func flush() async {
        await withCheckedContinuation { continuation in
            let wake = state.withLock { state -> Bool in
                guard state.finishedSequence < state.acceptedSequence, !state.finished else {
                    continuation.resume()
                    return false
                }
                state.flushWaiters.append((state.acceptedSequence, continuation))
                state.flushRequested = true
                return state.takeWriterWaiting()
            }
            if wake { wakeup.signal() }
        }
    }

    /// Stops taking outcomes and tells ``run()`` to write what it has accepted and return;
    /// does not wait (``shutdown()`` does).
    public func beginShutdown() {
        let wake = state.withLock { state -> Bool in
            state.shuttingDown = true
            return state.takeWriterWaiting()
        }
        if wake { wakeup.signal() }
    }

    /// Stops taking outcomes, writes all that were accepted, and returns when ``run()`` has.
    public func shutdown() async {
        await withCheckedContinuation { continuation in
            let wake = state.withLock { state -> Bool in
                state.shuttingDown = true
                if state.finished {
                    continuation.resume()
                    return false
                }
                state.shutdownWaiters.append(continuation)
                return state.takeWriterWaiting()
            }
            if wake { wakeup.signal() }
        }
    }

    /// Whether the writer's thread has shown it is alive within `interval`: false when one
    /// write has been stuck that long (a wedged file system, a lock that never ends), which is
    /// what systemd's watchdog is told. A writer that retries and drops is alive.
    public func isResponsive(within interval: Duration) -> Bool {
        state.withLock { $0.lastBeat.duration(to: .now) <= interval }
    }

    /// The writer: waits for a batch or the interval, writes, and repeats until shut down (or
    /// cancelled, which shuts down), having written everything accepted.
    ///
    /// The loop runs on a thread of its own and writes synchronously: SQLite calls block, and
    /// on a thread of their own they neither hold up the cooperative pool nor pay two executor
    /// hops per batch (measured: about a tenth of the recording cost).
    public func run() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread { [self] in
                    writerLoop()
                    done.resume()
                }
                thread.name = "errwatch-writer"
                thread.start()
            }
        } onCancel: {
            beginShutdown()
        }
    }

    private func writerLoop() {
        let interval = configuration.flushInterval
        var deadline = ContinuousClock.now + interval
        while true {
            enum Step { case wait(Duration), write(OutcomeBatch, stop: Bool) }
            let step = state.withLock { state -> Step in
                let now = ContinuousClock.now
                state.lastBeat = now
                if state.hasUrgentWork || now >= deadline {
                    let batch = state.takeBatch()
                    return .write(batch, stop: state.shuttingDown && state.queued == 0)
                }
                state.writerWaiting = true
                return .wait(now.duration(to: deadline))
            }
            switch step {
            case .wait(let remaining):
                _ = wakeup.wait(timeout: .now() + .nanoseconds(Int(max(remaining.wholeNanoseconds, 0))))
                state.withLock { $0.writerWaiting = false }
            case .write(let batch, let stop):
                deadline = ContinuousClock.now + interval
                if !batch.isEmpty { write(batch) }
                if stop {
                    let waiters = state.withLock { state in
                        state.finished = true
                        defer { state.shutdownWaiters = []; state.flushWaiters = [] }
                        return state.shutdownWaiters + state.flushWaiters.map(\.1)
                    }
                    waiters.forEach { $0.resume() }
                    return
                }
            }
        }
    }

    private func write(_ batch: OutcomeBatch) {
        var attempt = 0
        while true {
            state.withLock { $0.lastBeat = .now }
            do {
                // Retention holding the lock meanwhile runs at normal priority until this is written.
                let summary = try store.writeLock.needing { try store.record(batch) }
                finish(batch.records) { statistics in
                    // Calls whose row could not be written are dropped, not written.
                    let dropped = min(summary.dropped, batch.records)
                    statistics.written += batch.records - dropped
                    statistics.droppedWriteFailed += dropped
                    if dropped > 0 { statistics.lastDropAt = .now }
                    statistics.errorsWritten += summary.errors
                    statistics.batches += 1
                }
                rollUpIfDue()
                return
            } catch {
                state.withLock { $0.statistics.failedWrites += 1 }
                guard attempt < configuration.retryDelays.count else {
                    finish(batch.records) { statistics in
                        statistics.droppedWriteFailed += batch.records
                        statistics.lastDropAt = .now
                    }
                    logger.error("Recording failed after retries; outcomes dropped", metadata: [
                        "dropped": "\(batch.records)", "error": "\(Store.describe(error))"])
                    return
                }
                logger.warning("Recording failed; retrying", metadata: ["error": "\(Store.describe(error))", "attempt": "\(attempt + 1)"])
                Thread.sleep(forTimeInterval: configuration.retryDelays[attempt].secondsValue)
                attempt += 1
            }
        }
    }

    /// Marks `count` accepted outcomes finished, updates the counters, and wakes flushers
    /// whose outcomes are now all finished.
    private func finish(_ count: Int, _ update: (inout Statistics) -> Void) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            update(&state.statistics)
            state.finishedSequence += UInt64(count)
            let finished = state.finishedSequence
            let ready = state.flushWaiters.filter { $0.0 <= finished }.map(\.1)
            state.flushWaiters.removeAll { $0.0 <= finished }
            return ready
        }
        ready.forEach { $0.resume() }
    }

    /// Whether a drop log line is due; if so, how many drops it reports. Called under the lock.
    private func dropLogDue(_ state: inout State, count: Int) -> Int? {
        state.droppedSinceLog += count
        let now = ContinuousClock.now
        if let last = state.lastDropLog, last.duration(to: now) < configuration.dropLogInterval { return nil }
        state.lastDropLog = now
        defer { state.droppedSinceLog = 0 }
        return state.droppedSinceLog
    }

    private func rollUpIfDue() {
        let due = state.withLock { state -> Bool in
            let now = ContinuousClock.now
            if let last = state.lastRollup, last.duration(to: now) < configuration.rollupInterval { return false }
            state.lastRollup = now
            return true
        }
        guard due else { return }
        do {
            try store.rollUp(now: now())
        } catch {
            logger.warning("Rollup failed; rates read minute counts until it succeeds", metadata: ["error": "\(Store.describe(error))"])
        }
    }
}

/// A writer is a recorder for the client library: outcomes go to the local database.
extension BatchWriter: OutcomeRecorder {
    /// Hands `outcome` to the queue (dropped and counted when it is full).
    public func record(_ outcome: CallOutcome) { _ = submit(outcome) }
}
