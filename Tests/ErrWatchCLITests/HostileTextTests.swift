import AsyncHTTPClient
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import Testing

/// Arbitrary text in every recorded field — NUL, C0 and C1 controls, DEL, lone surrogates
/// written as `\u` escapes, invalid UTF-8, astral characters — through the proxy (the request's
/// model, the app header), an upstream's error body, and the ingest API, against the release
/// binary. The agent stays up, every call is recorded, and no control character reaches the file.
@Suite(.serialized) struct HostileTextTests {
    /// One JSON string literal, quotes included, drawn from `random`: valid JSON or not, valid
    /// UTF-8 or not, as a hostile client or a broken upstream would send.
    static func literal(_ random: inout SplitMix64) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "\"")]
        for _ in 0..<(random.below(12)) {
            switch random.below(10) {
            case 0: bytes += Array(String(format: "\\u%04x", random.below(0x20)).utf8)      // C0 as an escape, NUL among them
            case 1: bytes += Array(String(format: "\\u%04x", 0xD800 + random.below(0x800)).utf8)  // a lone surrogate
            case 2: bytes += [0xC2, UInt8(0x80 + random.below(0x20))]                      // C1, raw UTF-8
            case 3: bytes += [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0x80], [0xF8, 0x88]][random.below(5)]  // invalid UTF-8
            case 4: bytes.append(UInt8(random.below(0x20)))                                  // a raw control byte (invalid JSON)
            case 5: bytes += Array("\\ud83d\\ude00".utf8)                                    // a valid pair
            case 6: bytes += Array("😀é\u{7F}".utf8)
            case 7: bytes += Array(["\\\"", "\\\\", "\\n", "\\t", "'", "<", "&"][random.below(7)].utf8)
            default: bytes.append(UInt8(0x61 + random.below(26)))
            }
        }
        bytes.append(UInt8(ascii: "\""))
        return bytes
    }

    /// Text for an HTTP header value: HTTP allows tab and bytes from 0x80 (here C1 and other
    /// non-ASCII characters), which errwatch records as the app.
    static func headerValue(_ random: inout SplitMix64) -> String {
        let pieces = ["\u{85}", "\u{9B}", "\t", "ü", "😀", "a", "b", "<!here>"]
        return "x" + (0..<random.below(8)).map { _ in pieces[random.below(pieces.count)] }.joined()
    }

    static func post(_ client: HTTPClient, port: Int, _ path: String, body: [UInt8], headers: [(String, String)]) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "authorization", value: "Bearer sk-test-0123456789abcdef")
        request.headers.add(name: "content-type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    @Test func arbitraryTextInEveryFieldIsRecordedAndNeverCrashesTheAgent() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let database = workspace.path("hostile.db")
        let (mock, agent, port) = try await DurabilityTests.start(database: database, mix: "429=0%")
        defer { mock.terminate(); agent.terminate() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await Self.attack(client: client, port: port, database: database, agent: agent)
        } catch {
            Issue.record(error)
        }
        try await client.shutdown()
    }

    static func attack(client: HTTPClient, port: Int, database: String, agent: RunningBinary) async throws {

        var random = SplitMix64(seed: 12)
        var expectedCalls = 0
        var failures: [String] = []
        for round in 0..<300 {
            // 1. Through the proxy: the model in the request, the app in its header.
            let model = literal(&random)
            let (status, _) = try await post(client, port: port, "/v1/chat/completions",
                                                  body: Array(#"{"model":"#.utf8) + model + Array(#","messages":[]}"#.utf8),
                                                  headers: [("x-errwatch-app", headerValue(&random))])
            expectedCalls += 1
            if status != 200 { failures.append("proxied call \(round): \(status)") }

            // 2. An upstream's error body, in the unified shape or Gemini's list, carrying the text.
            let forced = [400, 404, 429, 500, 503][random.below(5)]
            let inner = Array(#"{"error":{"code":"#.utf8) + literal(&random) + Array(#","message":"#.utf8) + literal(&random)
                + Array(#","type":"#.utf8) + literal(&random) + Array("}}".utf8)
            let body = random.below(2) == 0 ? inner : [UInt8(ascii: "[")] + inner + [UInt8(ascii: "]")]
            let (upstreamStatus, _) = try await post(client, port: port, "/v1/chat/completions",
                                                          body: Array(#"{"model":"gpt-4o"}"#.utf8),
                                                          headers: [("x-mock-status", String(forced)), ("x-mock-body", Data(body).base64EncodedString())])
            expectedCalls += 1
            if upstreamStatus != forced { failures.append("upstream error \(round): \(upstreamStatus), not \(forced)") }

            // 3. The ingest API, every text field at once.
            var event = Array(#"{"ts":"2026-11-26T00:00:00Z","status":429"#.utf8)
            for field in ["app", "endpoint", "model", "type", "code", "message", "request_id"] {
                event += Array(",\"\(field)\":".utf8) + literal(&random)
            }
            event.append(UInt8(ascii: "}"))
            let (ingestStatus, reply) = try await post(client, port: port, "/api/v1/events", body: event, headers: [])
            if ingestStatus == 202 {
                let accepted = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [String: Any]
                expectedCalls += accepted?["accepted"] as? Int ?? 0
            } else if ingestStatus != 400 || !reply.contains("\"error\"") {
                failures.append("ingest \(round): \(ingestStatus) \(reply.prefix(200))")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) requests went wrong, e.g. \(failures.prefix(5))")
        #expect(try await DurabilityTests.get(client, port: port, "/healthz").0 == 200)
        #expect(agent.process.isRunning)

        // Every call recorded, none dropped, the file sound, and no control character in it.
        let expected = Int64(expectedCalls)
        #expect(await eventually { (try? DurabilityTests.recorded(database).calls) == expected },
                "recorded \((try? DurabilityTests.recorded(database).calls) ?? -1) of \(expected) calls")
        let (_, metrics) = try await DurabilityTests.get(client, port: port, "/metrics")
        #expect(DurabilityTests.dropped(metrics) == 0)
        #expect(try DurabilityTests.recorded(database).integrity == "ok")
        let store = try Store.open(path: database)
        let texts = try await store.writer.read { db in
            try String.fetchAll(db, sql: "SELECT app || endpoint || model || type || code FROM series")
                + String.fetchAll(db, sql: "SELECT app || endpoint || model || type || code || message || coalesce(request_id, '') FROM error_events")
        }
        #expect(texts.count > 300)
        let controls = texts.filter { $0.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) } }
        #expect(controls.isEmpty, "control characters stored: \(controls.prefix(3).map(\.debugDescription))")
    }
}
