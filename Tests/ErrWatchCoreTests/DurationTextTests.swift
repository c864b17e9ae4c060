import ErrWatchCore
import Testing

@Suite struct DurationTextTests {
    @Test(arguments: [
        ("30s", 30_000), ("5m", 300_000), ("1h", 3_600_000), ("7d", 604_800_000), ("2w", 1_209_600_000),
        ("1h30m", 5_400_000), ("250ms", 250), ("0", 0), ("1.5h", 5_400_000), (" 10s ", 10_000),
    ] as [(String, Int64)])
    func parses(text: String, milliseconds: Int64) {
        #expect(DurationText.milliseconds(text) == milliseconds)
    }

    @Test(arguments: ["", "5", "5x", "m", "1..5s", "-5m", "1h 30m", "99999999999999999d"])
    func rejects(text: String) {
        #expect(DurationText.milliseconds(text) == nil)
        #expect(throws: ErrWatchError.self) { try DurationText.parse(text) }
    }

    @Test func errorQuotesTheValueAndTheForms() {
        do {
            _ = try DurationText.parse("5x", what: "--window")
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "Invalid --window '5x'; write it like 30s, 5m, 1h, 7d or 1h30m.")
        }
    }

    @Test(arguments: [(0, "0s"), (30_000, "30s"), (90_000, "1m30s"), (3_600_000, "1h"), (604_800_000, "7d"), (1_500, "1s500ms"), (-60_000, "-1m")] as [(Int64, String)])
    func formats(milliseconds: Int64, text: String) {
        #expect(DurationText.format(milliseconds) == text)
        #expect(DurationText.milliseconds(text.hasPrefix("-") ? "" : text) == (milliseconds < 0 ? nil : milliseconds))
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2026-11-25T23:56:57.123Z", 1_795_651_017_123),
        ("1970-01-01T00:00:00.000Z", 0),
        ("2000-02-29T12:00:00.000Z", 951_825_600_000),
    ] as [(String, Int64)])
    func roundTrips(text: String, milliseconds: Int64) {
        #expect(Timestamp.iso8601(milliseconds) == text)
        #expect(Timestamp.parseISO8601(text) == milliseconds)
    }

    @Test func parsesOtherISOForms() {
        #expect(Timestamp.parseISO8601("2026-11-25") == 1_795_564_800_000)
        #expect(Timestamp.parseISO8601("2026-11-25T10:00") == 1_795_600_800_000)
        #expect(Timestamp.parseISO8601("2026-11-25 11:00:00+01:00") == 1_795_600_800_000)
        #expect(Timestamp.parseISO8601("2026-11-25T10:00:00.5Z") == 1_795_600_800_500)
    }

    @Test(arguments: ["2026-13-01", "2026-02-30", "2026-11-25T25:00", "yesterday", "2026-11-25T10:00:00Q", ""])
    func rejectsBadTimes(text: String) {
        #expect(Timestamp.parseISO8601(text) == nil)
    }

    @Test func floorsNegativeTimes() {
        #expect(Timestamp.floor(-1, to: 60_000) == -60_000)
        #expect(Timestamp.floor(119_999, to: 60_000) == 60_000)
    }

    @Test func timeArgumentsAreRelativeOrAbsolute() throws {
        let now: Int64 = 1_795_651_200_000
        #expect(try TimeArgument.parse("now", now: now) == now)
        #expect(try TimeArgument.parse("1h", now: now) == now - 3_600_000)
        #expect(try TimeArgument.parse("2026-11-25T00:00:00Z", now: now) == 1_795_564_800_000)
        #expect(throws: ErrWatchError.self) { try TimeArgument.parse("last tuesday", now: now) }
    }
}
