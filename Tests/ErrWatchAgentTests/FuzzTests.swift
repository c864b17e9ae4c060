import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import Foundation
import PropertyBased
import Testing

/// Property-based fuzzing of everything that reads outside input: the classifier, the duration
/// and retry-header parsers, the ingest decoder, the configuration loader and the query-filter
/// parser. For any input: no crash, no hang, and every rejection a clear error. CI runs each
/// property `ERRWATCH_FUZZ_COUNT` times (default 2,000); for a longer run:
/// `ERRWATCH_FUZZ_COUNT=100000 swift test --filter FuzzTests`.
struct FuzzTests {
    static let count = ProcessInfo.processInfo.environment["ERRWATCH_FUZZ_COUNT"].flatMap(Int.init) ?? 2_000

    /// Text made of the pieces the parsers care about, glued at random, plus raw bytes.
    static let fragments = [
        "0", "1", "9", "42", "-", "+", ".", "e", "E", "1e400", "99999999999999999999", "ms", "s", "m", "h", "d", "w", "us", "µs", "ns",
        ":", "T", "Z", "2026-11-25", "10:00", "+01:00", ",", " ", "\t", "\n", "\"", "'", "\\", "{", "}", "[", "]", "null", "true",
        "false", "\"ts\"", "\"status\"", "\"type\"", "\"count\"", "\"message\"", "\"body\"", "\"error\"", "sk-", "Bearer ",
        "4xx", "5xx", "%", "%2e", "..", "/", "é", "💥", "\u{0}", "\u{FEFF}", "; DROP TABLE x;--", "Infinity", "NaN", "0x1F",
    ]
    static let text = Gen<String?>.element(of: fragments).map { $0! }.array(of: 0...24).map { $0.joined() }
    static let bytes = Gen<UInt8>.value(in: 0...255).array(of: 0...400)

    @Test func durationsParseOrRefuseAndRoundTrip() async {
        await propertyCheck(count: Self.count, input: Self.text) { text in
            if let milliseconds = DurationText.milliseconds(text) {
                #expect(milliseconds >= 0)
                #expect(DurationText.milliseconds(DurationText.format(milliseconds)) == milliseconds)
            } else {
                #expect(throws: ErrWatchError.self) { try DurationText.parse(text) }
            }
        }
        await propertyCheck(count: Self.count, input: Gen.int64(in: 0...9_000_000_000_000)) { milliseconds in
            #expect(DurationText.milliseconds(DurationText.format(milliseconds)) == milliseconds)
        }
    }

    @Test func retryHeadersNeverGiveANegativeDelay() async {
        let names = ["retry-after-ms", "retry-after", "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens",
                     "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens"]
        let headers = zip(Gen<String?>.element(of: names).map { $0! }, Self.text).array(of: 0...6)
        await propertyCheck(count: Self.count, input: headers) { pairs in
            let delay = RetryDelay.milliseconds(from: HTTPHeaders(pairs), now: 1_795_651_200_000)
            #expect(delay.map { $0 >= 0 } ?? true)
        }
    }

    @Test func theClassifierTakesAnyBody() async {
        await propertyCheck(count: Self.count, input: Gen.int(in: 100...599), Self.bytes) { status, body in
            let error = Classifier.classify(status: status, body: body, now: 1_795_651_200_000)
            if status >= 400 {
                let error = try #require(error)
                #expect(!error.type.rawValue.isEmpty && error.message.count <= CallError.maxMessageLength)
            }
        }
        // Almost-JSON error bodies, in the shapes providers send.
        await propertyCheck(count: Self.count, input: Gen.int(in: 400...599), Self.text) { status, inside in
            let body = Array(#"{"error":{"message":"\#(inside)","type":\#(inside),"code":"\#(inside)"}}"#.utf8)
            #expect(Classifier.classify(status: status, body: body, now: 1_795_651_200_000) != nil)
        }
    }

    @Test func theIngestDecoderAcceptsOrNamesTheProblem() async {
        let decoder = OutcomeDecoder(now: 1_795_651_200_000)
        await propertyCheck(count: Self.count, input: Self.text) { line in
            Self.decodeOrExplain(decoder, line)
        }
        await propertyCheck(count: Self.count, input: Self.bytes) { bytes in
            Self.decodeOrExplain(decoder, String(decoding: bytes, as: UTF8.self))
        }
        // Objects with real field names and random values.
        let fields = ["ts", "status", "app", "endpoint", "model", "type", "code", "message", "retryable", "attempt", "latency_ms",
                      "request_id", "streamed", "count", "body", "time_to_headers_ms", "final", "extra"]
        let values = ["\"2026-11-25T10:00:00Z\"", "429", "0", "-1", "1e400", "\"x\"", "null", "true", "[]", "{}", "1.5", "99999999999999999999",
                      "\"sk-abcdefghijklmnop\"", "\"\\u0000\""]
        let objects = zip(Gen<String?>.element(of: fields).map { $0! }, Gen<String?>.element(of: values).map { $0! }).array(of: 0...8)
            .map { pairs in "{" + pairs.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}" }
        await propertyCheck(count: Self.count, input: objects) { line in
            Self.decodeOrExplain(decoder, line)
        }
    }

    static func decodeOrExplain(_ decoder: OutcomeDecoder, _ line: String) {
        do throws(ErrWatchError) {
            let outcome = try decoder.decode(line: line)
            #expect(outcome.count >= 1 && outcome.timestamp >= OutcomeDecoder.earliest)
            #expect(!outcome.app.contains("sk-abcdefghijklmnop"))
        } catch {
            #expect(!error.message.isEmpty && error.code == .invalidInput)
        }
    }

    @Test func theConfigurationLoaderAcceptsOrNamesTheLine() async {
        let keys = AgentConfiguration.keys.map(\.key) + ["rules", "notifiers", "nope", "- name", "  - name", "    kind", "    window",
                                                          "    warning", "    notify", "    url", "where", "group_by"]
        let values = ["5m", "2%", "0.02", "150%", "soon", "127.0.0.1:0", "http://x", "[ops]", "{type: x}", "- a", "true", "''", "[", "{",
                      "threshold", "burn_rate", "webhook", "99.5%", "-1", "1e400", ": :"]
        let documents = zip(Gen<String?>.element(of: keys).map { $0! }, Gen<String?>.element(of: values).map { $0! }).array(of: 0...10)
            .map { pairs in pairs.map { "\($0.0): \($0.1)" }.joined(separator: "\n") }
        await propertyCheck(count: Self.count, input: documents) { yaml in
            var configuration = AgentConfiguration()
            do throws(ErrWatchError) {
                try configuration.apply(yaml: yaml, path: "fuzz.yaml")
            } catch {
                #expect(error.code == .configuration && error.message.contains("fuzz.yaml"), "\(error.message)")
            }
        }
        await propertyCheck(count: Self.count, input: Self.text) { yaml in
            var configuration = AgentConfiguration()
            do throws(ErrWatchError) {
                try configuration.apply(yaml: yaml, path: "fuzz.yaml")
            } catch {
                #expect(error.code == .configuration && !error.message.isEmpty)
            }
        }
    }

    @Test func queryFiltersParseOrNameTheParameter() async {
        let parameters = zip(Self.text, Self.text, Self.text, Self.text)
        await propertyCheck(count: Self.count, input: parameters) { since, until, status, retryable in
            var filter = FilterParameters()
            filter.since = since
            filter.until = until
            filter.status = status
            filter.retryable = retryable
            filter.app = since
            do throws(ErrWatchError) {
                let parsed = try filter.filter(now: 1_795_651_200_000, prefix: "")
                #expect(parsed.since < parsed.until)
            } catch {
                #expect(["since", "until", "status", "retryable"].contains { error.message.contains($0) }, "\(error.message)")
            }
            #expect(throws: Never.self) { _ = try? Dimension.parseList(since) }
        }
    }

    /// The proxy reads `model` and `stream` from every request body with a byte scan: on any
    /// JSON object, it must agree with a real JSON parser.
    @Test func theRequestScanAgreesWithTheJSONParser() async {
        let keys = ["model", "stream", "messages", "mode", "models", "stream_options", "x", "model\\u0020", "\\u006dodel"]
        let values = ["\"gpt-4o\"", "\"a,b}\"", "\"with \\\"quote\\\"\"", "\"é💥\"", "true", "false", "null", "1", "-2.5e3", "[]",
                      "[{\"model\":\"inner\"}]", "{\"stream\":true}", "\"\"", "\"\\u0067pt\"", " true ", "[1, [2, {\"a\": \"}\"}]]"]
        let objects = zip(Gen<String?>.element(of: keys).map { $0! }, Gen<String?>.element(of: values).map { $0! }).array(of: 0...6)
            .map { pairs in "{" + pairs.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}" }
        await propertyCheck(count: Self.count, input: objects) { json in
            let fields = RequestFields(prefix: Array(json.utf8))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "\(json)")
            #expect(fields.model == Redactor.redact((object["model"] as? String) ?? ""), "\(json)")
            #expect(fields.stream == ((object["stream"] as? Bool) ?? false), "\(json)")
        }
    }

    @Test func timesRedactionAndEndpointsTakeAnyText() async {
        await propertyCheck(count: Self.count, input: Self.text) { text in
            _ = Timestamp.parseISO8601(text)
            _ = Timestamp.parseHTTPDate(text)
            _ = Endpoint.normalize(text)
            let once = Redactor.redact(text)
            #expect(Redactor.redact(once) == once)
        }
    }
}
