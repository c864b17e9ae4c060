import ErrWatchCore
import Testing

/// The one backoff rule: doubling from the first wait, capped, jitter taken off the step, the
/// server's delay a floor up to its own cap.
struct BackoffTests {
    let backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(8), jitter: 0.25, maximumServerDelay: .seconds(120))

    @Test func doublesUpToTheCap() {
        let waits = (1...7).map { backoff.delay(retry: $0, random: 0) }
        #expect(waits == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8)])
        #expect(backoff.delay(retry: 1_000, random: 0) == .seconds(8))
    }

    @Test func jitterTakesAtMostItsShare() {
        #expect(backoff.delay(retry: 3, random: 0.999_999) > .milliseconds(1_500))
        #expect(backoff.delay(retry: 3, random: 0.5) == .milliseconds(1_750))
    }

    @Test func theServersDelayIsAFloorUpToItsCap() {
        #expect(backoff.delay(retry: 1, random: 0, serverDelay: .seconds(30)) == .seconds(30))
        #expect(backoff.delay(retry: 4, random: 0, serverDelay: .milliseconds(100)) == .seconds(4))
        #expect(backoff.delay(retry: 1, random: 0, serverDelay: .seconds(600)) == .seconds(120))
    }
}
