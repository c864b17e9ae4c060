@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchTestKit
import Foundation
import Testing

/// OTLP export checked by a receiver that decodes what errwatch sends with the official
/// OpenTelemetry protobuf definitions (`Tests/Support/otlp_receiver.py`, PyPI's
/// opentelemetry-proto): metric names, units, bucket boundaries and attributes as the GenAI
/// conventions give them, errors and alert changes as log records, no secret in either; a
/// collector that refuses at first is retried; one that is down costs the proxy nothing.
@Suite struct OTLPExportTests {
    /// The receiver, running until `body` returns; `statuses` answer its first requests.
    static func withReceiver(statuses: [Int] = [], _ body: (_ url: String, _ received: @escaping () -> [[String: Any]]) async throws -> Void) async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let output = workspace.path("received.jsonl")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Support/otlp_receiver.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Run.find("python3", package: "python3"))
        process.arguments = [script, output] + statuses.map(String.init)
        let pipe = Pipe(), errors = Pipe()
        process.standardOutput = pipe
        process.standardError = errors
        try process.run()
        // SIGKILL: a test process that ran a service group ignores SIGTERM, and its children inherit that.
        try await Run.stopping(process, with: SIGKILL) {
            // The receiver prints its port once it listens (Python and protobuf take a while to start).
            let (line, said) = try await Run.onThreadOfItsOwn {
                var line = [UInt8]()
                while let byte = try pipe.fileHandleForReading.read(upToCount: 1)?.first, byte != 0x0A { line.append(byte) }
                return (String(decoding: line, as: UTF8.self), line.isEmpty ? String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) : "")
            }
            let port = try #require(Int(line), "the receiver did not start: \(said)")
            try await body("http://127.0.0.1:\(port)") {
                let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            }
        }
    }

    /// Every metric of the received metrics requests, by name (the last one seen of each).
    static func metrics(_ requests: [[String: Any]]) -> [String: [String: Any]] {
        var result: [String: [String: Any]] = [:]
        for request in requests where request["signal"] as? String == "metrics" {
            let body = request["body"] as? [String: Any]
            for resource in body?["resourceMetrics"] as? [[String: Any]] ?? [] {
                for scope in resource["scopeMetrics"] as? [[String: Any]] ?? [] {
                    for metric in scope["metrics"] as? [[String: Any]] ?? [] {
                        if let name = metric["name"] as? String { result[name] = metric }
                    }
                }
            }
        }
        return result
    }

    /// The calls `errwatch.calls` counts, over its data points.
    static func callCount(_ metrics: [String: [String: Any]]) -> Int {
        let points = (metrics["errwatch.calls"]?["sum"] as? [String: Any])?["dataPoints"] as? [[String: Any]] ?? []
        return points.compactMap { Int(($0["asInt"] as? String) ?? "") }.reduce(0, +)
    }

    /// Every received log record.
    static func logRecords(_ requests: [[String: Any]]) -> [[String: Any]] {
        requests.filter { $0["signal"] as? String == "logs" }.flatMap { request in
            ((request["body"] as? [String: Any])?["resourceLogs"] as? [[String: Any]] ?? []).flatMap { resource in
                (resource["scopeLogs"] as? [[String: Any]] ?? []).flatMap { $0["logRecords"] as? [[String: Any]] ?? [] }
            }
        }
    }

    /// An OTLP attribute list as a dictionary of string values.
    static func attributes(_ object: [String: Any]?) -> [String: String] {
        var result: [String: String] = [:]
        for attribute in object?["attributes"] as? [[String: Any]] ?? [] {
            guard let key = attribute["key"] as? String, let value = attribute["value"] as? [String: Any] else { continue }
            result[key] = (value["stringValue"] as? String) ?? value.values.first.map { "\($0)" }
        }
        return result
    }

    static let key = "sk-test-abcdefghijklmnop1234"

    @Test func metricsAndLogsFollowTheGenAIConventions() async throws {
        try await Self.withReceiver { url, received in
            try await Harness.with(configure: { configuration in
                configuration.otlp.endpoint = url
                configuration.otlp.intervalMs = 300
                configuration.otlp.headers = ["x-collector-key": "k1"]
            }) { harness in
                let auth = ("authorization", "Bearer \(Self.key)")
                #expect(try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o","messages":[]}"#).status == 200)
                #expect(try await harness.send("/v1/chat/completions", headers: [auth, ("x-mock-status", "429")], body: #"{"model":"gpt-4o","messages":[]}"#).status == 429)
                #expect(try await harness.send("/v1/chat/completions", headers: [auth, ("x-mock-first-token-ms", "300")],
                                                body: #"{"model":"gpt-4o","stream":true,"messages":[]}"#).status == 200)
                #expect(try await harness.send("/v1/embeddings", body: #"{"model":"text-embedding-3-small","input":"x"}"#).status == 200)
                // Until an export holds all four calls (sums are cumulative: the latest is whole).
                let arrived = await eventually {
                    let requests = received()
                    let metrics = Self.metrics(requests)
                    return Self.callCount(metrics) == 4 && metrics[OTLPExport.timeToFirstChunk] != nil && !Self.logRecords(requests).isEmpty
                }
                let requests = received()
                #expect(arrived, "received: \(requests)")
                let metrics = Self.metrics(requests)

                let duration = try #require(metrics["gen_ai.client.operation.duration"])
                #expect(duration["unit"] as? String == "s")
                let points = try #require((duration["histogram"] as? [String: Any])?["dataPoints"] as? [[String: Any]])
                // The conventions' boundaries, in seconds.
                #expect(points.allSatisfy { ($0["explicitBounds"] as? [Double]) == [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] })
                let attributeSets = points.map { Self.attributes($0) }
                let chat = try #require(attributeSets.first { $0["gen_ai.operation.name"] == "chat" && $0["error.type"] == nil })
                #expect(chat["gen_ai.request.model"] == "gpt-4o" && chat["gen_ai.provider.name"] == "127.0.0.1" && chat["server.address"] == "127.0.0.1")
                let failed = try #require(attributeSets.first { $0["error.type"] != nil })
                #expect(failed["error.type"] == "rate_limit_error" && failed["errwatch.error.code"] == "rate_limit_exceeded")
                #expect(attributeSets.contains { $0["gen_ai.operation.name"] == "embeddings" && $0["gen_ai.request.model"] == "text-embedding-3-small" })

                let firstChunk = try #require(metrics[OTLPExport.timeToFirstChunk])
                let streamPoints = try #require((firstChunk["histogram"] as? [String: Any])?["dataPoints"] as? [[String: Any]])
                // One stream, its first content 300 ms in: above the 0.16 s bound.
                #expect(streamPoints.count == 1 && (streamPoints[0]["count"] as? String) == "1")
                #expect(((streamPoints[0]["sum"] as? Double) ?? 0) >= 0.3)

                let errors = try #require(metrics["errwatch.errors"])
                #expect(errors["unit"] as? String == "{error}")
                #expect(Self.callCount(metrics) == 4)

                let records = Self.logRecords(requests)
                let record = try #require(records.first { Self.attributes($0)["event.name"] == "errwatch.call.error" })
                let attributes = Self.attributes(record)
                #expect(attributes["error.type"] == "rate_limit_error" && attributes["http.response.status_code"] == "429")
                #expect(attributes["gen_ai.request.model"] == "gpt-4o" && attributes["errwatch.retryable"] == "true")
                #expect(record["severityText"] as? String != nil && (record["body"] as? [String: Any])?["stringValue"] != nil)
                // Resource: the service's name; the collector got the configured header.
                let resource = (requests.first { $0["signal"] as? String == "logs" }?["body"] as? [String: Any])?["resourceLogs"] as? [[String: Any]]
                #expect(Self.attributes(resource?.first?["resource"] as? [String: Any])["service.name"] == "errwatch")
                #expect(requests.allSatisfy { ($0["headers"] as? [String: String])?["x-collector-key"] == "k1" })
                // No secret leaves: the app's key is in none of it.
                let everything = String(decoding: try JSONSerialization.data(withJSONObject: requests), as: UTF8.self)
                #expect(!everything.contains(Self.key) && !everything.contains("abcdefghijklmnop"))
            }
        }
    }

    /// A collector that answers 503 and 429 (with retry-after) at first gets the data once it
    /// takes it; one that is down leaves the proxy answering and recording as before.
    @Test func aRefusingCollectorIsRetriedAndADeadOneCostsNothing() async throws {
        try await Self.withReceiver(statuses: [503, 429]) { url, received in
            try await Harness.with(configure: { configuration in
                configuration.otlp.endpoint = url
                configuration.otlp.intervalMs = 300
            }) { (harness: Harness) async throws in
                #expect(try await harness.send("/v1/chat/completions", headers: [("authorization", "Bearer \(Self.key)"), ("x-mock-status", "500")],
                                                body: #"{"model":"gpt-4o","messages":[]}"#).status == 500)
                let arrived = await eventually {
                    received().contains { $0["refused"] != nil } && !Self.logRecords(received()).isEmpty
                }
                #expect(arrived, "received: \(received())")
            }
        }
        // Port 9 (discard) on loopback: nothing listens.
        try await Harness.with(configure: { configuration in
            configuration.otlp.endpoint = "http://127.0.0.1:9"
            configuration.otlp.intervalMs = 200
        }) { (harness: Harness) async throws in
            for _ in 0..<20 {
                #expect(try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o","messages":[]}"#).status == 200)
            }
            #expect(try await harness.recorded().calls == 20)
        }
    }

    @Test func theStandardVariablesConfigureIt() throws {
        var configuration = AgentConfiguration()
        try configuration.apply(environment: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/", "OTEL_EXPORTER_OTLP_HEADERS": "api-key=abc%3D,tenant=t1",
            "OTEL_SERVICE_NAME": "errwatch-eu", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod",
        ])
        #expect(configuration.otlp.endpoint == "http://collector:4318" && configuration.otlp.headers == ["api-key": "abc=", "tenant": "t1"])
        #expect(configuration.otlp.serviceName == "errwatch-eu" && configuration.otlp.resourceAttributes == ["deployment.environment": "prod"])
        // errwatch's own setting wins over the standard variable.
        var both = AgentConfiguration()
        try both.apply(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "ERRWATCH_OTLP_ENDPOINT": "http://b:4318"])
        #expect(both.otlp.endpoint == "http://b:4318")
        #expect(throws: ErrWatchError.self) {
            var refused = AgentConfiguration()
            try refused.set("otlp_endpoint", to: "collector:4318", origin: "test")
        }
        #expect(Provider.name(host: Provider.host(ofURL: "https://api.openai.com/v1")) == "openai")
        #expect(Provider.name(host: Provider.host(ofURL: "https://my-team.openai.azure.com/openai")) == "azure.ai.openai")
        #expect(Provider.name(host: Provider.host(ofURL: "https://api.ofox.ai/v1")) == "ofox")
    }
}
