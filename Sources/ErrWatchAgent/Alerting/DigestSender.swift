import AsyncHTTPClient
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Logging

/// A digest outside the agent's schedule: `errwatch digest` previews one, or sends it now to
/// check its notifiers.
public enum DigestSender {
    /// The latest time `schedule` sends at or before `at`.
    public static func lastSend(_ schedule: DigestSchedule, atOrBefore at: Int64) -> Int64 {
        var send = schedule.next(after: at - 8 * Timestamp.day)
        while true {
            let next = schedule.next(after: send)
            if next > at { return send }
            send = next
        }
    }

    /// The digest of the period ending at `end`, as the log notifier writes it: its sentence,
    /// then the report.
    public static func text(_ digest: DigestConfiguration, store: Store, endingAt end: Int64, dashboardURL: String) throws -> String {
        try payload(digest, store: store, endingAt: end, dashboardURL: dashboardURL).logText
    }

    /// Sends the digest of the period ending at `end` to its notifiers (with their retries) and
    /// returns the notifiers that failed.
    public static func send(
        _ digest: DigestConfiguration, notifiers: [NotifierConfiguration], store: Store, endingAt end: Int64,
        dashboardURL: String, logger: Logger
    ) async throws -> [String] {
        let payload = try payload(digest, store: store, endingAt: end, dashboardURL: dashboardURL)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let dispatcher = NotifierDispatcher(notifiers: notifiers, client: client, store: store, evaluationIntervalMs: Timestamp.minute,
                                            logger: logger, now: Timestamp.now)
        dispatcher.send(payload, eventID: nil, retried: true, to: digest.notify)
        dispatcher.finish()
        await dispatcher.run()
        try await client.shutdown()
        return dispatcher.failures
    }

    static func payload(_ digest: DigestConfiguration, store: Store, endingAt end: Int64, dashboardURL: String) throws -> DigestPayload {
        let period = digest.schedule.period(endingAt: end)
        let report = try PeriodReport.read(store: store, since: period.lowerBound, until: period.upperBound, by: digest.by)
        return DigestPayload(digest: digest, report: report, dashboardURL: dashboardURL)
    }
}
