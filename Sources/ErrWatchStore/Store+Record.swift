import ErrWatchCore
import GRDB

extension Store {
    /// What a write recorded.
    public struct RecordSummary: Sendable, Hashable {
        /// Calls counted (an aggregated success counts as its `count`).
        public var outcomes: Int
        /// Error rows written.
        public var errors: Int
        /// Calls that could not be counted (their series row could not be written) and were dropped.
        public var dropped: Int

        /// A summary of `outcomes` calls and `errors` error rows, `dropped` calls left out.
        public init(outcomes: Int, errors: Int, dropped: Int = 0) {
            self.outcomes = outcomes
            self.errors = errors
            self.dropped = dropped
        }
    }

    /// Records `outcomes` in one transaction: all of them, or none when it fails.
    @discardableResult
    public func record(_ outcomes: [CallOutcome]) throws -> RecordSummary {
        try record(OutcomeBatch(outcomes, host: hostName))
    }

    /// Records `batch` in one transaction, blocking the calling thread (the batch writer calls
    /// it from its own thread).
    func record(_ batch: OutcomeBatch) throws -> RecordSummary {
        let written = try writer.write { db in try OutcomeInserter.insert(batch, into: db, cache: series) }
        series.remember(written.newSeries)
        return RecordSummary(outcomes: written.calls, errors: written.errors, dropped: written.unwritableCalls)
    }

    /// Records outcomes produced by `body` in one transaction. `body` gets a function to hand
    /// outcomes to, and they are written in chunks as they come; if `body` or a write throws,
    /// the transaction rolls back and nothing is recorded. Used to ingest files of any size
    /// with bounded memory and all-or-nothing semantics.
    ///
    /// `file`, when given, is asked after `body` for the name and fingerprint of what was read:
    /// a fingerprint recorded before refuses the whole write (the same file ingested twice would
    /// count its calls twice) unless `allowRepeat`; otherwise it is remembered with the write.
    public func recordAll(
        chunkSize: Int = 1_000, file: (() -> (name: String, fingerprint: String, at: Int64))? = nil, allowRepeat: Bool = false,
        _ body: (_ add: (CallOutcome) throws -> Void) throws -> Void
    ) throws -> RecordSummary {
        var created: [SeriesDimensions: Int64] = [:]
        let summary = try writer.write { db in
            var summary = RecordSummary(outcomes: 0, errors: 0)
            var chunk = OutcomeBatch(host: hostName)
            func flush() throws {
                let written = try OutcomeInserter.insert(chunk, into: db, cache: series)
                summary.outcomes += written.calls
                summary.errors += written.errors
                summary.dropped += written.unwritableCalls
                created.merge(written.newSeries) { old, _ in old }
                chunk = OutcomeBatch(host: hostName)
            }
            try body { outcome in
                chunk.add(outcome)
                if chunk.records >= chunkSize { try flush() }
            }
            try flush()
            if let file {
                let (name, fingerprint, at) = file()
                if !allowRepeat, let earlier = try Row.fetchOne(
                    db, sql: "SELECT name, ingested_at, outcomes FROM ingested_files WHERE fingerprint = ?", arguments: [fingerprint]) {
                    let when: Int64 = earlier[1]
                    let outcomes: Int = earlier[2]
                    throw ErrWatchError(.invalidInput,
                        "\(name) was ingested already (as \(earlier[0] as String) at \(Timestamp.iso8601(when)), \(outcomes) outcomes); recording it again would count its calls twice, so nothing was written. Pass --again to record it anyway.")
                }
                try db.execute(sql: "INSERT OR REPLACE INTO ingested_files (fingerprint, name, ingested_at, outcomes) VALUES (?, ?, ?, ?)",
                               arguments: [fingerprint, name, at, summary.outcomes])
            }
            return summary
        }
        series.remember(created)
        return summary
    }
}
