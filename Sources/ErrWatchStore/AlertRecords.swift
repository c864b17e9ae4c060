import ErrWatchCore
import Foundation
import GRDB

/// One row of the alert history: an event and the alert as it was after it.
public struct AlertHistoryRow: Sendable, Hashable {
    public var id: Int64
    public var event: AlertEvent
}

/// One attempt to deliver an alert event to a notifier.
public struct NotificationAttempt: Sendable, Hashable {
    /// How the attempt ended.
    public enum Result: String, Sendable, Hashable {
        case delivered, retrying, failed
    }

    public var eventID: Int64
    public var notifier: String
    public var attempt: Int
    public var at: Int64
    public var result: Result
    /// The receiver's HTTP status or the command's exit status, when there was one.
    public var status: Int?
    public var error: String?
    public var durationMs: Int64

    /// An attempt with every field given.
    public init(eventID: Int64, notifier: String, attempt: Int, at: Int64, result: Result,
                status: Int?, error: String?, durationMs: Int64) {
        self.eventID = eventID
        self.notifier = notifier
        self.attempt = attempt
        self.at = at
        self.result = result
        self.status = status
        self.error = error
        self.durationMs = durationMs
    }
}
