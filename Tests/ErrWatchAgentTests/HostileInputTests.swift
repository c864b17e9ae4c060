import AsyncHTTPClient
@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// 10,000 malformed or oversized requests against a live agent: each gets a 4xx in the unified
/// body, the agent serves valid traffic all the while, and the database holds nothing from them.
/// A value tasks share.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result { value.withLock { body(&$0) } }
}

struct HostileInputTests {
    /// One hostile request: what to send, and a name for failures.
    struct Attack {
        var name: String
        var method: NIOHTTP1.HTTPMethod
        var path: String
        var body: [UInt8]?
    }

    static let validEvent = #"{"ts":"2026-11-26T00:00:00Z","status":429,"app":"a","model":"m","type":"rate_limit_error","code":"x","message":"m"}"#

    /// The `index`-th attack, drawn from `random`.
    static func attack(_ index: Int, _ random: inout SplitMix64) -> Attack {
        let valid = Array(validEvent.utf8)
        switch index % 12 {
        case 0:  // Broken JSON: a valid event cut anywhere.
            return Attack(name: "truncated", method: .POST, path: "/api/v1/events", body: Array(valid.prefix(1 + random.below(valid.count - 2))))
        case 1:  // Wrong types and out-of-range values, each in place of a valid field.
            let wrong: [(String, [String])] = [
                ("status", ["\"x\"", "[]", "{}", "true", "-1", "1.5", "1000"]), ("ts", ["{}", "[]", "true", "\"yesterday\"", "5"]),
                ("app", ["5", "[]", "{}", "true"]), ("count", ["0", "-1", "\"x\"", "1.5"]), ("latency_ms", ["-1", "\"x\"", "[]"]),
                ("attempt", ["-1", "\"x\"", "1.5"]), ("retryable", ["\"yes\"", "2", "[]"]), ("colour", ["\"red\""]),
            ]
            let (field, values) = wrong[random.below(wrong.count)]
            let value = values[random.below(values.count)]
            var fields = ["\"ts\":\"2026-11-26T00:00:00Z\"", "\"status\":200", "\"app\":\"a\""].filter { !$0.hasPrefix("\"\(field)\"") }
            fields.append("\"\(field)\":\(value)")
            return Attack(name: "wrong \(field)=\(value)", method: .POST, path: "/api/v1/events", body: Array("{\(fields.joined(separator: ","))}".utf8))
        case 2:  // Huge numbers.
            let number = ["1e400", "99999999999999999999999", "-99999999999999999999", "1e10", "0x10", "NaN", "Infinity"][random.below(7)]
            return Attack(name: "huge \(number)", method: .POST, path: "/api/v1/events",
                          body: Array(#"{"ts":"2026-11-26T00:00:00Z","status":\#(number)}"#.utf8))
        case 3:  // Deep nesting.
            let depth = 1_000 + random.below(20_000)
            return Attack(name: "nested \(depth)", method: .POST, path: "/api/v1/events",
                          body: Array(String(repeating: "[", count: depth).utf8) + Array(String(repeating: "]", count: depth).utf8))
        case 4:  // Invalid UTF-8 inside an otherwise valid event.
            var body = valid
            body.insert(contentsOf: [0xFF, 0xFE, 0xC0][...].prefix(1 + random.below(3)), at: 45)
            return Attack(name: "invalid utf-8", method: .POST, path: "/api/v1/events", body: body)
        case 5:  // Over max_ingest_body.
            return Attack(name: "oversized", method: .POST, path: "/api/v1/events", body: [UInt8](repeating: UInt8(ascii: " "), count: 70_000))
        case 6:  // Random bytes.
            return Attack(name: "noise", method: .POST, path: "/api/v1/events", body: (0..<(1 + random.below(300))).map { _ in UInt8(random.below(256)) })
        case 7:  // Paths that climb.
            let path = ["/v1/../api/v1/events", "/v1/%2e%2e/api/v1/rates", "/v1/./chat/completions", "/v1/chat/%2E%2E/%2e%2e/admin",
                        "/api/v1/../../etc/passwd"][random.below(5)]
            return Attack(name: "path \(path)", method: .POST, path: path, body: Array(validEvent.utf8))
        case 8:  // SQL in parameters that must be a time, a number or a dimension.
            let injection = ["';DROP TABLE error_events;--", "1 OR 1=1", "1;DELETE FROM call_counts", "\" OR \"\"=\""][random.below(4)]
            let encoded = injection.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let parameter = ["since", "until", "limit", "by", "window", "status", "cursor", "bucket"][random.below(8)]
            let route = ["errors", "rates", "trend"][random.below(3)]
            return Attack(name: "sql \(parameter) on \(route)", method: .GET,
                          path: "/api/v1/\(route)?\(parameter)=\(encoded)", body: nil)
        case 9:  // Unknown or repeated parameters.
            let query = ["nope=1", "since=1h&since=2h", "limit=0", "limit=1000001", "window=0s", "by=colour", "retryable=maybe"][random.below(7)]
            return Attack(name: "parameter \(query)", method: .GET, path: "/api/v1/errors?\(query)", body: nil)
        case 10:  // Empty and whitespace bodies, an empty array item.
            let body = ["", "   \n\t", "[1]", "[null]", "\"text\"", "{}"][random.below(6)]
            return Attack(name: "empty \(body.debugDescription)", method: .POST, path: "/api/v1/events", body: Array(body.utf8))
        default:  // A valid event with one field far too long.
            let long = String(repeating: "x", count: 300 + random.below(5_000))
            return Attack(name: "long app", method: .POST, path: "/api/v1/events",
                          body: Array(#"{"ts":"2026-11-26T00:00:00Z","status":200,"app":"\#(long)"}"#.utf8))
        }
    }

    @Test func tenThousandHostileRequestsChangeNothing() async throws {
        // Plain upstream only: the attacks never reach it, and a second 10,000-request run in
        // parallel starved the release-binary soak test's throughput bound in CI.
        try await Harness.with(configure: { $0.maxIngestBody = 64 << 10 }) { harness in
            let before = try await harness.recorded()
            let failures = Shared<[String]>([])
            let validCalls = Shared(0)
            let base = harness.agentURL
            let client = harness.client
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var random = SplitMix64(seed: UInt64(worker + 1) * 7_777)
                        for index in stride(from: worker, to: 10_000, by: 4) {
                            let attack = Self.attack(index, &random)
                            var request = HTTPClientRequest(url: base + attack.path)
                            request.method = attack.method
                            if let body = attack.body {
                                // Declared as JSON, so that the attacks reach the parser rather than the media-type check.
                                request.headers.add(name: "content-type", value: "application/json")
                                request.body = .bytes(ByteBuffer(bytes: body))
                            }
                            let response = try await client.execute(request, timeout: .seconds(30))
                            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                            let status = Int(response.status.code)
                            let unified = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["error"] as? [String: Any]
                            if !(400..<500).contains(status) || unified?["code"] == nil || unified?["message"] == nil || unified?["type"] == nil {
                                failures.withLock { $0.append("\(attack.name): \(status) \(text.prefix(200))") }
                            }
                            // Valid traffic all the while: a proxied call every 250 attacks.
                            if index % 250 == worker {
                                var valid = HTTPClientRequest(url: base + "/v1/chat/completions")
                                valid.method = .POST
                                valid.headers.add(name: "authorization", value: "Bearer sk-test-abcdefghijklmnop1234")
                                valid.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o","messages":[]}"#))
                                let reply = try await client.execute(valid, timeout: .seconds(30))
                                _ = try await reply.body.collect(upTo: 1 << 20)
                                if reply.status != .ok { failures.withLock { $0.append("valid call got \(reply.status)") } }
                                validCalls.withLock { $0 += 1 }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let failed = failures.withLock { $0 }
            #expect(failed.isEmpty, "\(failed.count) requests were not refused properly, e.g. \(failed.prefix(5))")
            // The agent is up and the database holds the valid calls only.
            #expect(try await harness.send("/healthz", method: .GET).status == 200)
            let after = try await harness.recorded()
            #expect(after.calls - before.calls == Int64(validCalls.withLock { $0 }))
            #expect(after.errors.count == before.errors.count)
            let integrity = try await harness.agent.store.writer.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
            #expect(integrity == "ok")
        }
    }

    @Test func sqlLookingFilterValuesAreJustValues() async throws {
        try await Harness.with { harness in
            for value in ["' OR 1=1--", "x'; DROP TABLE error_events; --", "\" OR \"\"=\""] {
                let encoded = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let reply = try await harness.send("/api/v1/errors?since=1h&app=\(encoded)", method: .GET)
                #expect(reply.status == 200)
                #expect(reply.body.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n]" || reply.body.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
            }
            #expect(try await harness.agent.store.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name = 'error_events'") } == 1)
        }
    }

    @Test(arguments: Transport.allCases) func aHeaderFloodIsRefusedAndTheAgentStaysUp(transport: Transport) async throws {
        try await Harness.with(transport: transport) { harness in
            let port = Int(harness.agentURL.split(separator: ":").last!)!
            let headers = (0..<2_000).map { "x-h\($0): \(String(repeating: "a", count: 100))\r\n" }.joined()
            let reply = try await RawConnection.exchange(port: port, "GET /api/v1/rates HTTP/1.1\r\nHost: x\r\n\(headers)\r\n")
            // The HTTP parser refuses it before errwatch sees a request: a 400 without a body.
            #expect(reply.hasPrefix("HTTP/1.1 400"))
            #expect(try await harness.send("/healthz", method: .GET).status == 200)
        }
    }
}
