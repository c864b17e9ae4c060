import ErrWatchCore
import Testing

/// Shares as settings and flags take them (alert levels, the fake's mix, stream errors).
struct ShareTests {
    @Test(arguments: [("2%", 0.02), ("0.02", 0.02), (" 5% ", 0.05), ("100%", 1.0), ("0", 0.0)])
    func parses(text: String, value: Double) {
        #expect(Share.parse(text).map { abs($0 - value) < 1e-12 } == true)
    }

    @Test(arguments: ["", "%", "2 percent", "150%", "-1%", "1.5", "nan", "inf"])
    func rejects(text: String) {
        #expect(Share.parse(text) == nil)
    }
}

/// Status lists as `--status`, the API and a rule's `where.status` read them.
struct StatusPatternTests {
    @Test func readsStatusesClassesAndNoResponse() {
        #expect(StatusPattern.statuses("429") == [429])
        #expect(StatusPattern.statuses(" 0 ") == [0])
        #expect(StatusPattern.statuses("5xx") == Array(500...599))
        for bad in ["6xx", "5XX", "42", "1000", "abc", ""] { #expect(StatusPattern.statuses(bad) == nil, "\(bad)") }
    }

    @Test func writesWholeClassesBack() {
        #expect(StatusPattern.tokens(Array(500...599) + [429]) == ["5xx", "429"])
        #expect(StatusPattern.tokens([502, 503]) == ["502", "503"])
    }
}
