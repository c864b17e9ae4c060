import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// errwatch's own API under `/api/v1`: outcomes reported by apps, and the same queries as the
/// command line with the same JSON (query parameters are named like the flags).
struct APIController<Context: RequestContext>: Sendable {
    let store: Store
    let sink: OutcomeSink
    let rateLimits: RateLimitTracker
    let maxIngestBody: Int64
    let now: @Sendable () -> Int64

    func addRoutes(to group: RouterGroup<Context>) {
        group.post("events") { request, _ in try await events(request) }
        group.get("errors") { request, _ in try await errors(request) }
        group.get("rates") { request, _ in try await rates(request) }
        group.get("trend") { request, _ in try await trend(request) }
        group.get("ratelimits") { _, _ in ratelimits() }
    }

    // MARK: POST /api/v1/events

    /// Takes one JSON object, a JSON array of them, or newline-delimited JSON. Every item is
    /// checked before any is kept: one bad item rejects the request and nothing is written.
    func events(_ request: Request) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Int(maxIngestBody))
        } catch {
            throw APIError(status: .contentTooLarge, type: .requestTooLarge, code: "request_body_too_large",
                           message: "The events body is larger than \(ByteSize.format(maxIngestBody)); send smaller batches or raise max_ingest_body.")
        }
        let decoder = OutcomeDecoder(now: now())
        let outcomes = try Self.decodeEvents(Array(body.readableBytesView), decoder: decoder)
        var accepted = 0
        for outcome in outcomes where sink.record(outcome) { accepted += 1 }
        let receipt = IngestReceipt(accepted: accepted, dropped: outcomes.count - accepted)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Self.json(status: .accepted, String(decoding: try encoder.encode(receipt), as: UTF8.self) + "\n")
    }

    /// The outcomes in an events body, or the error that names the first bad item.
    static func decodeEvents(_ bytes: [UInt8], decoder: OutcomeDecoder) throws -> [CallOutcome] {
        func reject(_ item: String, _ error: ErrWatchError) -> APIError {
            .invalidRequest("invalid_event", "\(item): \(error.message); nothing from this request was recorded.")
        }
        // Repairing bad bytes would record something the app never sent: refuse them.
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw APIError.invalidRequest("invalid_encoding", "The body is not valid UTF-8; nothing from this request was recorded.")
        }
        let trimmed = text.trimmingSpaces()
        guard !trimmed.isEmpty else { throw APIError.invalidRequest("empty_body", "The body holds no events; send a JSON object, an array, or newline-delimited JSON.") }
        if let whole = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) {
            switch whole {
            case .array(let items):
                var outcomes: [CallOutcome] = []
                for (index, item) in items.enumerated() {
                    do { outcomes.append(try decoder.decode(item)) } catch { throw reject("Item \(index)", error) }
                }
                return outcomes
            default:
                do { return [try decoder.decode(whole)] } catch { throw reject("The event", error) }
            }
        }
        var outcomes: [CallOutcome] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            do { outcomes.append(try decoder.decode(line: line)) } catch { throw reject("Line \(index + 1)", error) }
        }
        return outcomes
    }

    // MARK: Queries

    func errors(_ request: Request) async throws -> Response {
        let query = try QueryParameters(request, allowed: QueryParameters.filterNames + ["retryable", "grep", "limit", "cursor"])
        let filter = try query.filter(now: now())
        let limit = try query.integer("limit", default: 50, range: 1...100_000)
        let cursor = try query.string("cursor").map { text -> HistoryCursor in
            guard let cursor = HistoryCursor(text) else {
                throw APIError.invalidRequest("invalid_parameter", "Invalid cursor '\(text)'; pass the x-errwatch-next-cursor of the previous page.")
            }
            return cursor
        }
        let page = try await offload { try store.errors(filter, limit: limit, after: cursor) }
        var response = Self.json(status: .ok, Report.errors(page.events).json)
        try await Self.notePruned(&response, store: store, since: filter.since, reading: [.errors])
        if let next = page.next {
            response.headers[HTTPField.Name("x-errwatch-next-cursor")!] = next.description
        }
        return response
    }

    func rates(_ request: Request) async throws -> Response {
        let query = try QueryParameters(request, allowed: QueryParameters.filterNames.filter { $0 != "since" } + ["window", "by"])
        let now = now()
        var filter = try query.filter(now: now)
        filter.since = filter.until - (try query.duration("window", default: "1h"))
        let groups = try query.dimensions()
        let window = filter
        let rows = try await offload { try store.rates(window, by: groups, timings: true) }
        var response = Self.json(status: .ok, Report.rates(rows, by: groups).json)
        try await Self.notePruned(&response, store: store, since: window.since, reading: [.rollups, .minuteCounts])
        return response
    }

    func trend(_ request: Request) async throws -> Response {
        let query = try QueryParameters(request, allowed: QueryParameters.filterNames + ["bucket", "by"])
        let filter = try query.filter(now: now())
        let groups = try query.dimensions()
        let length = filter.until - filter.since
        let bucketText = try query.string("bucket")
        let bucket = try bucketText.map { _ in try query.duration("bucket", default: "1m") } ?? Report.defaultTrendBucket(for: length)
        do throws(ErrWatchError) {
            try Report.checkTrendBucket(bucket, length: length, text: bucketText ?? "", name: "bucket")
        } catch {
            throw APIError.invalidRequest("invalid_parameter", error.message)
        }
        let series = try await offload { try store.trend(filter, bucketMs: bucket, by: groups) }
        return Self.json(status: .ok, Report.trendJSON(series, by: groups, bucketMs: bucket))
    }

    func ratelimits() -> Response {
        let rows: [[Cell]] = rateLimits.all.map { snapshot in
            [.text(snapshot.model), .time(snapshot.observedAt),
             snapshot.remainingRequests.map { .integer($0) } ?? .null, snapshot.remainingTokens.map { .integer($0) } ?? .null,
             snapshot.resetRequestsMs.map { .integer($0) } ?? .null, snapshot.resetTokensMs.map { .integer($0) } ?? .null]
        }
        return Self.json(status: .ok, Report(
            columns: ["model", "observed_at", "remaining_requests", "remaining_tokens", "reset_requests_ms", "reset_tokens_ms"],
            rows: rows).json)
    }

    static func json(status: HTTPResponse.Status, _ body: JSONOutput, layout: JSONOutput.Layout = .lines) -> Response {
        json(status: status, body.text(layout) + "\n")
    }

    /// Says, in `x-errwatch-pruned-before` (the latest cut, ISO 8601) and
    /// `x-errwatch-retention-note`, that the range reaches before what retention kept.
    static func notePruned(_ response: inout Response, store: Store, since: Int64, reading kinds: [RetentionKind]) async throws {
        let notes = try await offload { try store.retentionNotes(since: since, reading: kinds) }
        guard let latest = notes.max(by: { $0.before < $1.before }) else { return }
        response.headers[HTTPField.Name("x-errwatch-pruned-before")!] = Timestamp.iso8601(latest.before)
        response.headers[HTTPField.Name("x-errwatch-retention-note")!] = notes.map(\.text).joined(separator: " ")
    }

    static func json(status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Runs blocking database work off the cooperative thread pool.
func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}
