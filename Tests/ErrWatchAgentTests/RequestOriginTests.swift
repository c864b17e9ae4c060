@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import Testing

/// Browsers and strangers: what a web page can make the agent do, and how many distinct values
/// a client can make it keep.
@Suite struct RequestOriginTests {
    static func port(_ harness: Harness) -> Int { Int(harness.agentURL.split(separator: ":").last!)! }

    @Test func aCrossSiteTextPlainPostWritesNothing() async throws {
        try await Harness.with { harness in
            let event = #"{"ts":"2026-11-26T00:00:00Z","status":429,"app":"forged"}"#
            // What a form or fetch() from any page sends without a preflight.
            let forged = try await harness.send("/api/v1/events", headers: [("content-type", "text/plain")], body: nil, rawBody: event)
            #expect(forged.status == 415)
            #expect(forged.body.contains(#""code":"unsupported_media_type""#))
            let fromPage = try await harness.send("/api/v1/events", headers: [("content-type", "application/json"), ("origin", "https://evil.example")],
                                                  body: nil, rawBody: event)
            #expect(fromPage.status == 403)
            #expect(fromPage.body.contains(#""code":"origin_not_allowed""#))
            #expect(try await harness.recorded().calls == 0)
            // The agent's own programs still write.
            let genuine = try await harness.send("/api/v1/events", headers: [("content-type", "application/x-ndjson")], body: nil, rawBody: event)
            #expect(genuine.status == 202)
        }
    }

    @Test func aReboundHostNameIsRefusedOnLoopback() async throws {
        try await Harness.with(configure: { $0.allowedHosts = ["errwatch.internal"] }) { (harness: Harness) async throws in
            let port = Self.port(harness)
            #expect(try await Self.get(port: port, host: "attacker.example:\(port)", origin: nil).hasPrefix("HTTP/1.1 403"))
            #expect(try await Self.get(port: port, host: "127.evil.example:\(port)", origin: nil).hasPrefix("HTTP/1.1 403"))
            #expect(try await Self.get(port: port, host: "localhost:\(port)", origin: nil).hasPrefix("HTTP/1.1 200"))
            #expect(try await Self.get(port: port, host: "127.0.0.1:\(port)", origin: nil).hasPrefix("HTTP/1.1 200"))
            #expect(try await Self.get(port: port, host: "[::1]:\(port)", origin: nil).hasPrefix("HTTP/1.1 200"))
            #expect(try await Self.get(port: port, host: "errwatch.internal", origin: nil).hasPrefix("HTTP/1.1 200"))
            // The dashboard's own requests carry its own origin.
            #expect(try await Self.get(port: port, host: "127.0.0.1:\(port)", origin: "http://127.0.0.1:\(port)").hasPrefix("HTTP/1.1 200"))
            #expect(try await Self.get(port: port, host: "127.0.0.1:\(port)", origin: "http://attacker.example").hasPrefix("HTTP/1.1 403"))
        }
    }

    static func get(port: Int, host: String, origin: String?) async throws -> String {
        try await RawConnection.exchange(port: port, "GET /api/v1/errors?since=1h HTTP/1.1\r\nHost: \(host)\r\n"
            + (origin.map { "Origin: \($0)\r\n" } ?? "") + "Connection: close\r\n\r\n")
    }

    @Test func listenHostsThatOnlyLookLikeLoopbackAreNot() {
        #expect(AgentConfiguration.isLoopbackName("127.0.0.1"))
        #expect(AgentConfiguration.isLoopbackName("127.1.2.3"))
        #expect(AgentConfiguration.isLoopbackName("localhost"))
        #expect(AgentConfiguration.isLoopbackName("::1"))
        #expect(!AgentConfiguration.isLoopbackName("127.evil.example"))
        #expect(!AgentConfiguration.isLoopbackName("127.0.0.1.nip.io"))
        #expect(!AgentConfiguration.isLoopbackName("127.0.0.256"))
        var configuration = AgentConfiguration()
        configuration.host = "127.attacker.example"
        #expect(throws: ErrWatchError.self) { try configuration.checkExposure() }
    }

    @Test func aRejectedAuthTokenIsNotEchoed() {
        var configuration = AgentConfiguration()
        do {
            try configuration.set("auth_token", to: "hunter2-short", origin: "environment ERRWATCH_AUTH_TOKEN")
            Issue.record("a short token was accepted")
        } catch {
            #expect(!error.message.contains("hunter2"))
            #expect(error.message.contains("16 characters"))
        }
    }

    @Test func randomPathsAndNamesFoldIntoOtherPastTheirCaps() async throws {
        try await Harness.with { harness in
            // 400 invented routes: each would be a series of its own.
            for index in 0..<400 {
                _ = try await harness.send("/v1/words\(index)/more\(index)", method: .GET)
            }
            let endpoints = try await harness.agent.store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT count(DISTINCT endpoint) FROM series")
            }
            #expect(endpoints == DimensionLimiter.limits[.endpoint]! + 1, "the first 200 routes and other")
            let calls = try await harness.recorded().calls
            #expect(calls == 400, "every call is still counted, under 'other' past the cap")
            let metrics = try await harness.send("/metrics", method: .GET).body
            #expect(metrics.contains(#"errwatch_dimension_overflow_total{dimension="endpoint"} 200"#))
        }
    }

    @Test func oneBigIngestCannotBlowUpMetrics() async throws {
        try await Harness.with { harness in
            // 99 apps × 99 models × 2 codes, each under its label cap, 19,602 combinations.
            var lines: [String] = []
            for app in 0..<99 {
                for model in 0..<99 {
                    lines.append(#"{"ts":"2026-11-26T00:00:00Z","status":429,"app":"a\#(app)","model":"m\#(model)","code":"c\#(app % 2)","latency_ms":5}"#)
                }
            }
            let reply = try await harness.send("/api/v1/events", headers: [("content-type", "application/x-ndjson")], body: nil,
                                               rawBody: lines.joined(separator: "\n"))
            #expect(reply.status == 202)
            let metrics = try await harness.send("/metrics", method: .GET).body
            #expect(metrics.utf8.count < 2_000_000, "/metrics is \(metrics.utf8.count) bytes")
            // The totals still add up: what does not fit is under 'other'.
            let errors = metrics.split(separator: "\n").filter { $0.hasPrefix("errwatch_errors_total{") }
                .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
            #expect(errors == Double(lines.count))
        }
    }
}
