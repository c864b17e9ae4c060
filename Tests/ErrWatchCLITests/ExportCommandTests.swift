@testable import ErrWatchCLI
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

/// `errwatch export`: each report on hand-built data, RFC 4180 output, atomic files.
struct ExportCommandTests {
    /// An hour before `now`, split in two half hours: gpt-4o with known latencies and errors.
    static func fixture(_ workspace: Workspace) throws -> String {
        let db = workspace.path("export.db")
        let store = try Store.open(path: db)
        let start = now - Timestamp.hour
        var outcomes: [CallOutcome] = []
        // The previous hour: 100 calls, 1 error.
        outcomes.append(CallOutcome(timestamp: start - 30 * Timestamp.minute, app: "shop", endpoint: "/v1/chat/completions",
                                    model: "gpt-4o", status: 200, latencyMs: 100, count: 99))
        outcomes.append(CallOutcome(timestamp: start - 30 * Timestamp.minute, app: "shop", endpoint: "/v1/chat/completions",
                                    model: "gpt-4o", status: 500,
                                    error: CallError(type: .internal, code: "internal_error", message: "boom", retryable: true), latencyMs: 100))
        // This hour: 90 fast successes (200 ms), 10 slow errors (3 s): 6 rate limits, 3 bad requests, 1 with a hostile message.
        outcomes.append(CallOutcome(timestamp: start + 5 * Timestamp.minute, app: "shop", endpoint: "/v1/chat/completions",
                                    model: "gpt-4o", status: 200, latencyMs: 200, count: 90))
        for index in 0..<6 {
            outcomes.append(CallOutcome(timestamp: start + 40 * Timestamp.minute + Int64(index), app: "shop", endpoint: "/v1/chat/completions",
                                        model: "gpt-4o", status: 429,
                                        error: CallError(type: .rateLimit, code: "rate_limit_exceeded", message: "slow down", retryable: true),
                                        latencyMs: 3_000))
        }
        for index in 0..<3 {
            outcomes.append(CallOutcome(timestamp: start + 50 * Timestamp.minute + Int64(index), app: "shop", endpoint: "/v1/chat/completions",
                                        model: "gpt-4o", status: 400,
                                        error: CallError(type: .invalidRequest, code: "context_length_exceeded", message: "too long", retryable: false),
                                        latencyMs: 3_000))
        }
        outcomes.append(CallOutcome(timestamp: start + 55 * Timestamp.minute, app: "shop", endpoint: "/v1/chat/completions",
                                    model: "gpt-4o", status: 400,
                                    error: CallError(type: .invalidRequest, code: "invalid_value",
                                                     message: "=HYPERLINK(\"http://evil\",\"x\"), line\nbreak", retryable: false),
                                    latencyMs: 3_000))
        _ = try store.record(outcomes)
        return db
    }

    @Test func summaryHasRatesRetryableShareTopCodesLatencyAndChange() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = try Self.fixture(workspace)
        let result = await errwatch(["export", "--db", db, "--report", "summary", "--since", "1h"], now: now)
        #expect(result.exitCode == 0, "\(result.stderr)")
        // p50 falls among the 200 ms calls (bucket 100–250 ms), p95 among the 3 s ones (2.5–5 s).
        #expect(result.stdout == """
            app,model,calls,errors,error_rate,retryable_share,top_codes,p50_latency_ms,p95_latency_ms,previous_error_rate,change\r
            shop,gpt-4o,100,10,0.1,0.6,rate_limit_exceeded (6); context_length_exceeded (3); invalid_value (1),183,3750,0.01,0.09\r

            """)
    }

    @Test func ratesHaveACountPerErrorType() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = try Self.fixture(workspace)
        let result = await errwatch(["export", "--db", db, "--report", "rates", "--since", "1h", "--bucket", "30m", "--by", "model"], now: now)
        #expect(result.stdout == """
            bucket,model,calls,errors,error_rate,internal_error,invalid_request_error,rate_limit_error\r
            \(Timestamp.iso8601(now - Timestamp.hour)),gpt-4o,90,0,0,0,0,0\r
            \(Timestamp.iso8601(now - 30 * Timestamp.minute)),gpt-4o,10,10,1,0,4,6\r

            """)
    }

    @Test func eventsAreRFC4180WithFormulasNeutralised() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = try Self.fixture(workspace)
        let result = await errwatch(["export", "--db", db, "--report", "events", "--since", "1h"], now: now)
        let lines = result.stdout.components(separatedBy: "\r\n")
        #expect(lines[0] == Report.errorColumns.joined(separator: ","))
        // Newest first: the hostile message, quoted, its formula defused, its line break recorded as a space (RecordedText).
        #expect(lines[1].hasPrefix("\(Timestamp.iso8601(now - 5 * Timestamp.minute)),shop,/v1/chat/completions,gpt-4o,400,invalid_request_error,invalid_value,\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\"), line break\",false,"))
        #expect(lines.count == 1 + 10 + 1)
    }

    @Test func outputIsWrittenWholeOrNotAtAll() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = try Self.fixture(workspace)
        let target = try workspace.write("report.csv", "the previous report\n")
        let bad = await errwatch(["export", "--db", db, "--report", "everything", "--output", target], now: now)
        #expect(bad.exitCode == 64)
        #expect(bad.stderr.contains("Unknown --report 'everything'; give one of: events, rates, summary, alerts."))
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "the previous report\n")
        let good = await errwatch(["export", "--db", db, "--report", "events", "--since", "1h", "--output", target], now: now)
        #expect(good.exitCode == 0)
        #expect(good.stderr == "Wrote 10 rows to \(target).\n")
        #expect(try String(contentsOfFile: target, encoding: .utf8).hasPrefix("ts,app,"))
        // Nothing half-written is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.url.path).sorted() == ["export.db", "export.db-shm", "export.db-wal", "report.csv"].filter { FileManager.default.fileExists(atPath: workspace.path($0)) })
        let missingFolder = await errwatch(["export", "--db", db, "--report", "events", "--output", workspace.path("no/such/dir/x.csv")], now: now)
        #expect(missingFolder.exitCode != 0)
    }

    @Test func alertsReportIsTheHistory() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = try Self.fixture(workspace)
        let store = try Store.open(path: db)
        let alert = AlertState(rule: "r", group: [], labels: [:], phase: .firing, severity: .warning, value: 0.1, threshold: 0.05,
                               calls: 100, errors: 10, activeSince: now - 60_000, startsAt: now - 60_000, endsAt: nil,
                               lastNotifiedAt: now - 60_000, updatedAt: now - 60_000)
        _ = try store.saveAlerts(changes: [], events: [AlertEvent(kind: .firing, alert: alert, at: now - 60_000, notify: true, summary: "r fired.")])
        let result = await errwatch(["export", "--db", db, "--report", "alerts", "--since", "1h"], now: now)
        #expect(result.stdout == "time,rule,event,severity,labels,value,threshold,calls,errors,notified,summary\r\n"
            + "\(Timestamp.iso8601(now - 60_000)),r,firing,warning,,0.1,0.05,100,10,true,r fired.\r\n")
    }
}
