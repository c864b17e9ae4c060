import ErrWatchCore

/// Outcomes gathered for one transaction: the errors, kept whole for their rows in
/// `error_events`, and every outcome's calls summed per (minute, series) for `call_counts`.
///
/// Outcomes are folded in as they arrive, so the batch writer's producers do the aggregating
/// on their own threads and the one writer only writes.
struct OutcomeBatch {
    /// The minute and dimensions of one call-count row, before its series id is known.
    struct CountKey: Hashable {
        var bucket: Int64
        var series: SeriesDimensions

        func hash(into hasher: inout Hasher) {
            hasher.combine(UInt64(bitPattern: bucket) &* 31 &+ series.cheapHash)
        }
    }

    /// The sums of one call-count row.
    struct CountSums {
        var calls: Int64 = 0
        var latencyCalls: Int64 = 0
        var latencySum: Int64 = 0
        var headersCalls: Int64 = 0
        var headersSum: Int64 = 0
        var finalCalls: Int64 = 0
        /// Calls per latency bucket (``Histogram/columns``), the overflow last.
        var latencyBuckets = InlineArray<11, Int64>(repeating: 0)

        mutating func add(_ other: CountSums) {
            for index in latencyBuckets.indices { latencyBuckets[index] += other.latencyBuckets[index] }
            finalCalls += other.finalCalls
            calls += other.calls
            latencyCalls += other.latencyCalls
            latencySum += other.latencySum
            headersCalls += other.headersCalls
            headersSum += other.headersSum
        }
    }

    /// The stream sums of one call-count row, kept apart: most rows have none, and the common
    /// row stays small.
    struct StreamSums {
        /// Streams, and of them those whose first content came, its time summed, their events.
        var streamedCalls: Int64 = 0
        var firstTokenCalls: Int64 = 0
        var firstTokenSum: Int64 = 0
        var chunks: Int64 = 0
        /// Streams per time-to-first-token bucket (``Histogram/firstToken``), the overflow last.
        var firstTokenBuckets = InlineArray<14, Int64>(repeating: 0)

        mutating func add(_ other: StreamSums) {
            for index in firstTokenBuckets.indices { firstTokenBuckets[index] += other.firstTokenBuckets[index] }
            streamedCalls += other.streamedCalls
            firstTokenCalls += other.firstTokenCalls
            firstTokenSum += other.firstTokenSum
            chunks += other.chunks
        }
    }

    /// The failed outcomes, in arrival order.
    private(set) var errors: [CallOutcome] = []
    /// Calls per minute and series.
    private(set) var counts: [CountKey: CountSums] = [:]
    /// The streams among them, for the rows that have any.
    private(set) var streams: [CountKey: StreamSums] = [:]
    /// Outcome records added (an aggregated success is one record).
    private(set) var records = 0
    /// Calls added (an aggregated success counts as its `count`).
    private(set) var calls = 0

    /// The host recorded for outcomes that name none (``Store/hostName``).
    let host: String

    /// A batch of `outcomes`; those without a host are recorded under `host`.
    init(_ outcomes: some Sequence<CallOutcome> = [], host: String) {
        self.host = host
        for outcome in outcomes { add(outcome) }
    }

    var isEmpty: Bool { records == 0 }

    mutating func add(_ outcome: CallOutcome) {
        let series = SeriesDimensions(
            app: outcome.app, endpoint: outcome.endpoint, model: outcome.model, upstream: outcome.upstream, provider: outcome.provider,
            host: outcome.host.isEmpty ? host : outcome.host, status: outcome.status ?? 0,
            type: outcome.error?.type.rawValue ?? "", code: outcome.error?.code ?? "")
        let key = CountKey(bucket: Timestamp.floor(outcome.timestamp, to: Timestamp.minute), series: series)
        let calls = Int64(outcome.count)
        var sums = CountSums(
            calls: calls, latencyCalls: outcome.latencyMs == nil ? 0 : calls,
            latencySum: (outcome.latencyMs ?? 0) * calls,
            headersCalls: outcome.timeToHeadersMs == nil ? 0 : calls,
            headersSum: (outcome.timeToHeadersMs ?? 0) * calls,
            finalCalls: outcome.finalAttempt == true ? calls : 0)
        if let latency = outcome.latencyMs {
            sums.latencyBuckets[Histogram.latency.bucket(latency)] = calls
        }
        counts[key, default: CountSums()].add(sums)
        if outcome.streamed {
            var stream = StreamSums(streamedCalls: calls, chunks: Int64(outcome.chunks ?? 0) * calls)
            if let firstToken = outcome.timeToFirstTokenMs {
                stream.firstTokenCalls = calls
                stream.firstTokenSum = firstToken * calls
                stream.firstTokenBuckets[Histogram.firstToken.bucket(firstToken)] = calls
            }
            streams[key, default: StreamSums()].add(stream)
        }
        records += 1
        self.calls += outcome.count
        if outcome.error != nil {
            var error = outcome
            if error.host.isEmpty { error.host = host }
            errors.append(error)
        }
    }
}
