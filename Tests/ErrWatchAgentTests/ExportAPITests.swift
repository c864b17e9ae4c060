import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import Foundation
import NIOHTTP1
import Testing

/// `GET /api/v1/export.csv` on a live agent: the CSV of `errwatch export`, and the unified
/// error body for a bad parameter.
struct ExportAPITests {
    @Test func exportsCSVAndRefusesBadParameters() async throws {
        try await Harness.with { harness in
            let ts = Timestamp.iso8601(Timestamp.now() - 60_000)
            let ingest = try await harness.send("/api/v1/events", body: """
                {"ts":"\(ts)","status":200,"app":"a","model":"m","count":9}
                {"ts":"\(ts)","status":429,"app":"a","model":"m","type":"rate_limit_error","code":"rate_limit_exceeded","message":"=1+1"}
                """)
            #expect(ingest.status == 202)
            await harness.agent.writer.flush()
            let summary = try await harness.send("/api/v1/export.csv?report=summary&since=1h", method: .GET)
            #expect(summary.status == 200)
            #expect(summary.headers.first(name: "content-type") == "text/csv; charset=utf-8")
            #expect(summary.headers.first(name: "content-disposition") == "attachment; filename=\"errwatch-summary.csv\"")
            #expect(summary.body.hasPrefix("app,model,calls,errors,error_rate,retryable_share,top_codes,p50_latency_ms,p95_latency_ms,previous_error_rate,change\r\na,m,10,1,0.1,1,rate_limit_exceeded (1),"))
            let events = try await harness.send("/api/v1/export.csv?report=events&since=1h&type=rate_limit_error", method: .GET)
            #expect(events.body.contains(",'=1+1,"))
            let bad = try await harness.send("/api/v1/export.csv?report=everything", method: .GET)
            #expect(bad.status == 400)
            #expect(bad.body == #"{"error":{"code":"invalid_parameter","message":"Unknown report 'everything'; give one of: events, rates, summary, alerts.","type":"invalid_request_error"}}"#)
            let badBucket = try await harness.send("/api/v1/export.csv?report=rates&bucket=soon", method: .GET)
            #expect(badBucket.status == 400 && badBucket.body.contains("Invalid bucket 'soon'"))
        }
    }
}
