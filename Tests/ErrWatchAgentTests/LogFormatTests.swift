import ErrWatchAgent
import Foundation
import Logging
import Synchronization
import Testing

/// JSON log lines: one object per line with the fixed fields and the event's metadata, secrets
/// redacted, control characters escaped; the level filters.
struct LogFormatTests {
    @Test func eachEventIsOneRedactedJSONObjectOnOneLine() throws {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "errwatch.agent") { JSONLogHandler(label: $0) { line in lines.withLock { $0.append(line) } } }
        logger.logLevel = .warning
        logger.info("not at this level")
        logger.warning("upstream said: invalid key sk-proj-abcdefghijklmnop1234\nsecond line", metadata: ["status": "401", "message": "shadowed"])
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("}\n") && line.dropLast().firstIndex(of: "\n") == nil, "one line: \(line)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["level"] == "warning" && object["logger"] == "errwatch.agent" && object["status"] == "401")
        #expect(object["message"] == "upstream said: invalid key sk-***1234\nsecond line")
        #expect(object["time"].map { Timestampish.matches($0) } == true)
        #expect(object["source"] != nil)
    }

    @Test func theFormatsLoggerHasTheConfiguredLevel() {
        #expect(LogFormat.json.logger(label: "x", level: .error).logLevel == .error)
        #expect(LogFormat.text.logger(label: "x", level: .debug).logLevel == .debug)
    }
}

/// An ISO-8601 UTC time with milliseconds, as every errwatch time is written.
private enum Timestampish {
    static func matches(_ text: String) -> Bool {
        text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil
    }
}
