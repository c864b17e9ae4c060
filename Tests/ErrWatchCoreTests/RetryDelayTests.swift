import ErrWatchCore
import Testing

@Suite struct RetryDelayTests {
    let now: Int64 = 1_445_412_480_000  // 2015-10-21T07:28:00Z

    @Test func prefersRetryAfterMilliseconds() {
        #expect(RetryDelay.milliseconds(from: ["retry-after-ms": "1500.2", "retry-after": "9"], now: now) == 1_501)
    }

    @Test func readsRetryAfterSeconds() {
        #expect(RetryDelay.milliseconds(from: ["Retry-After": "20"], now: now) == 20_000)
        #expect(RetryDelay.milliseconds(from: ["Retry-After": "0.5"], now: now) == 500)
    }

    @Test func readsRetryAfterAsAnHTTPDate() {
        #expect(RetryDelay.milliseconds(from: ["retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"], now: now) == 30_000)
        #expect(RetryDelay.milliseconds(from: ["retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"], now: now) == 0)
    }

    @Test(arguments: [("1s", 1_000), ("6m0s", 360_000), ("20ms", 20), ("1h2m3.5s", 3_723_500), ("0.5s", 500), ("250us", 1)] as [(String, Int64)])
    func readsGoDurationsInResetHeaders(text: String, expected: Int64) {
        #expect(RetryDelay.milliseconds(from: ["x-ratelimit-reset-requests": text], now: now) == expected)
    }

    @Test func choosesTheResetOfTheExhaustedLimit() {
        let headers: HTTPHeaders = [
            "x-ratelimit-remaining-requests": "10", "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s",
        ]
        #expect(RetryDelay.milliseconds(from: headers, now: now) == 360_000)
        let requestsOut: HTTPHeaders = [
            "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "6m0s",
        ]
        #expect(RetryDelay.milliseconds(from: requestsOut, now: now) == 2_000)
    }

    @Test func takesTheLongerResetWhenUnsure() {
        #expect(RetryDelay.milliseconds(from: ["x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "3s"], now: now) == 3_000)
    }

    @Test func ignoresGarbage() {
        #expect(RetryDelay.milliseconds(from: ["retry-after": "soon", "x-ratelimit-reset-requests": "1 minute"], now: now) == nil)
        #expect(RetryDelay.milliseconds(from: ["retry-after-ms": "-5"], now: now) == nil)
        #expect(RetryDelay.milliseconds(from: [:], now: now) == nil)
    }
}
