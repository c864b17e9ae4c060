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
