import ErrWatchCore
import Foundation
import Testing

/// The one writer of errwatch's JSON: what every body, report and stored key is written with.
struct JSONOutputTests {
    @Test func keepsFieldOrderAndEscapesWhatJSONRequires() throws {
        let value = JSONOutput.object([
            ("z", .string("quote \" backslash \\ newline \n tab \t bell \u{07} é / <")),
            ("a", .array([.integer(-3), .number(2.0), .number(0.25), .bool(true), .null])),
            ("nan", .number(.nan)), ("inf", .optional(Double.infinity)), ("none", .optional(String?.none)),
        ])
        let text = value.text()
        #expect(text == #"{"z":"quote \" backslash \\ newline \n tab \t bell \u0007 é / <","a":[-3,2,0.25,true,null],"nan":null,"inf":null,"none":null}"#)
        // What it writes, a standard parser reads back to the same values.
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(parsed["z"] as? String == "quote \" backslash \\ newline \n tab \t bell \u{07} é / <")
        #expect(parsed["nan"] is NSNull)
    }

    @Test func laysOutReportsOneRowPerLine() {
        let rows = JSONOutput.array([.object([("app", .string("a")), ("calls", .integer(2))]), .object([])])
        #expect(rows.text(.lines) == "[\n  {\"app\": \"a\", \"calls\": 2},\n  {}\n]")
        #expect(JSONOutput.array([]).text(.lines) == "[]")
        #expect(JSONOutput.object([("rules", rows)]).text(.lines) == "{\n  \"rules\": [{\"app\": \"a\", \"calls\": 2}, {}]\n}")
        #expect(JSONOutput.labels(["b": "2", "a": "1"]).text() == #"{"a":"1","b":"2"}"#)
    }
}
