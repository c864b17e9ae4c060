import AsyncHTTPClient
import ErrWatchCore
import ErrWatchStore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// What a notifier sends, in each medium's form: an alert event (``AlertPayload``) or a
/// digest (``DigestPayload``).
protocol NotificationPayload: Sendable {
    /// What it is about, for logs: the rule, or the digest.
    var subject: String { get }
    /// errwatch's webhook body (also a `command`'s input and a log file's line).
    var webhookJSON: String { get }
    /// A Slack incoming-webhook message.
    var slackJSON: String { get }
    /// Alertmanager's v2 body, or nil when this is no alert.
    func alertmanagerJSON(validUntil: Int64) -> String?
    /// A `command` notifier's environment.
    var environment: [String: String] { get }
    /// What a `log` notifier without a file writes to standard output, ending in a newline.
    var logText: String { get }
}

/// Delivers alert events and digests to notifiers, one queue per notifier, so that a dead or slow receiver
/// delays only itself, never the evaluation or the other receivers. Each delivery follows the
/// guide's advice: a timeout per attempt, exponential backoff with jitter (Core's ``Backoff``)
/// on what the classifier calls retryable — 408, 409, 429, 5xx, `x-should-retry`, connection
/// errors — honouring `retry-after`, no retry on other 4xx, a maximum attempt
/// count; every attempt is recorded in the `notifications` table.
public final class NotifierDispatcher: Sendable {
    /// One thing to deliver.
    struct Job: Sendable {
        /// The stored event; nil for Alertmanager keep-alives and digests, which are not recorded.
        var eventID: Int64?
        var payload: any NotificationPayload
        /// Whether a failed attempt is tried again (not for keep-alives: the next one follows).
        var retried = true
    }

    /// How one attempt went.
    struct Attempt: Sendable {
        var delivered: Bool
        var retryable: Bool
        var status: Int?
        var error: String?
        var retryAfterMs: Int64?
    }

    private struct Queue: Sendable {
        var configuration: NotifierConfiguration
        var continuation: AsyncStream<Job>.Continuation
    }

    private let queues = Mutex<[String: Queue]>([:])
    private let failed = Mutex<[String]>([])
    private let starts: AsyncStream<(NotifierConfiguration, AsyncStream<Job>)>
    private let startContinuation: AsyncStream<(NotifierConfiguration, AsyncStream<Job>)>.Continuation
    private let client: HTTPClient
    private let store: Store
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let metrics: AgentMetrics?
    /// How long Alertmanager should keep a firing alert without hearing from errwatch again.
    let alertmanagerValidityMs: Int64

    /// A dispatcher for `notifiers`, posting with `client` and recording into `store`.
    public init(notifiers: [NotifierConfiguration], client: HTTPClient, store: Store, evaluationIntervalMs: Int64,
                metrics: AgentMetrics? = nil, logger: Logger, now: @escaping @Sendable () -> Int64) {
        self.metrics = metrics
        (starts, startContinuation) = AsyncStream.makeStream()
        self.client = client
        self.store = store
        self.logger = logger
        self.now = now
        alertmanagerValidityMs = 4 * max(evaluationIntervalMs, Timestamp.minute)
        update(notifiers)
    }

    /// Replaces the notifiers (a configuration reload): queues of removed notifiers finish what
    /// they hold, changed ones take their new settings for what comes next.
    public func update(_ notifiers: [NotifierConfiguration]) {
        let names = Set(notifiers.map(\.name))
        queues.withLock { queues in
            for (name, queue) in queues where !names.contains(name) || queue.configuration != notifiers.first(where: { $0.name == name }) {
                queue.continuation.finish()
                queues[name] = nil
            }
            for notifier in notifiers where queues[notifier.name] == nil {
                let (stream, continuation) = AsyncStream<Job>.makeStream()
                queues[notifier.name] = Queue(configuration: notifier, continuation: continuation)
                startContinuation.yield((notifier, stream))
            }
        }
    }

    /// Queues `payload` for each notifier named; unknown names are logged and skipped.
    /// Without an `eventID` and `retried`, one attempt is made (an Alertmanager keep-alive).
    func send(_ payload: any NotificationPayload, eventID: Int64?, retried: Bool? = nil, to names: [String]) {
        queues.withLock { queues in
            for name in names {
                guard let queue = queues[name] else {
                    logger.warning("notification for unknown notifier skipped", metadata: ["notifier": "\(name)", "subject": "\(payload.subject)"])
                    continue
                }
                queue.continuation.yield(Job(eventID: eventID, payload: payload, retried: retried ?? (eventID != nil)))
            }
        }
    }

    /// The notifiers that gave up on a notification so far, once per failure.
    public var failures: [String] { failed.withLock { $0 } }

    /// The kinds of the named notifiers.
    func kinds(of names: [String]) -> [String: NotifierConfiguration.Kind] {
        queues.withLock { queues in
            Dictionary(uniqueKeysWithValues: names.compactMap { name in queues[name].map { (name, $0.configuration.kind) } })
        }
    }

    /// Delivers until ``finish()``, then delivers what is queued and returns.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await (notifier, jobs) in starts {
                group.addTask {
                    for await job in jobs {
                        await self.deliver(job, with: notifier)
                    }
                }
            }
        }
    }

    /// Stops taking jobs; ``run()`` returns once the queues are delivered.
    public func finish() {
        queues.withLock { queues in
            for queue in queues.values { queue.continuation.finish() }
            queues = [:]
        }
        startContinuation.finish()
    }

    /// Every attempt at one job, with backoff between them.
    func deliver(_ job: Job, with notifier: NotifierConfiguration) async {
        // A keep-alive is one attempt: the next evaluation sends another.
        let maxAttempts = job.retried ? notifier.maxAttempts : 1
        // Half to all of each doubling step, or what the receiver asked, capped at five minutes.
        let backoff = Backoff(initial: .milliseconds(notifier.backoffMs), maximum: .seconds(300), jitter: 0.5,
                              maximumServerDelay: .seconds(300))
        for number in 1...maxAttempts {
            let started = now()
            let attempt = await attemptOnce(job.payload, with: notifier)
            let last = attempt.delivered || !attempt.retryable || number == maxAttempts
            if let eventID = job.eventID {
                metrics?.notification(notifier: notifier.name, result: attempt.delivered ? .delivered : (last ? .failed : .retrying))
                let record = NotificationAttempt(
                    eventID: eventID, notifier: notifier.name, attempt: number, at: started,
                    result: attempt.delivered ? .delivered : (last ? .failed : .retrying),
                    status: attempt.status, error: attempt.error, durationMs: max(0, now() - started))
                do {
                    try await offload { [store] in try store.recordNotification(record) }
                } catch {
                    logger.warning("could not record a notification attempt", metadata: ["error": "\(Store.describe(error))"])
                }
            }
            if attempt.delivered { return }
            if last {
                failed.withLock { $0.append(notifier.name) }
                logger.error("notification failed", metadata: [
                    "notifier": "\(notifier.name)", "subject": "\(job.payload.subject)", "attempts": "\(number)",
                    "error": "\(attempt.error ?? attempt.status.map { "HTTP \($0)" } ?? "unknown")"])
                return
            }
            let wait = backoff.delay(retry: number, random: Double.random(in: 0..<1), serverDelay: attempt.retryAfterMs.map { .milliseconds($0) })
            do { try await Task.sleep(for: wait) } catch { return }
        }
    }

    private func attemptOnce(_ payload: any NotificationPayload, with notifier: NotifierConfiguration) async -> Attempt {
        switch notifier.kind {
        case .webhook: return await post(payload.webhookJSON, to: notifier.url ?? "", timeoutMs: notifier.timeoutMs)
        case .slack: return await post(payload.slackJSON, to: notifier.url ?? "", timeoutMs: notifier.timeoutMs)
        case .alertmanager:
            guard let body = payload.alertmanagerJSON(validUntil: now() + alertmanagerValidityMs) else {
                return Attempt(delivered: false, retryable: false, error: "Alertmanager takes alerts only")
            }
            return await post(body, to: (notifier.url ?? "") + "/api/v2/alerts", timeoutMs: notifier.timeoutMs)
        case .command: return await CommandRunner.run(notifier.command, input: payload.webhookJSON + "\n",
                                                      environment: payload.environment, timeoutMs: notifier.timeoutMs)
        // A file gets one JSON line per notification; standard output (the journal) the text people read.
        case .log: return write(notifier.path == nil ? payload.logText : payload.webhookJSON + "\n", to: notifier.path)
        }
    }

    private func post(_ body: String, to url: String, timeoutMs: Int64) async -> Attempt {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "errwatch")
        request.body = .bytes(ByteBuffer(string: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(timeoutMs))
            let status = Int(response.status.code)
            let text = String(buffer: try await response.body.collect(upTo: 64 << 10))
            if (200..<300).contains(status) { return Attempt(delivered: true, retryable: false, status: status) }
            let headers = ErrWatchCore.HTTPHeaders(response.headers.map { ($0.name, $0.value) })
            return Attempt(
                delivered: false, retryable: Classifier.retryable(status: status, headers: headers), status: status,
                error: "HTTP \(status)" + (text.isEmpty ? "" : ": " + String(Redactor.redact(text).prefix(200))),
                retryAfterMs: RetryDelay.milliseconds(from: headers, now: now()))
        } catch {
            return Attempt(delivered: false, retryable: true, status: nil, error: String(describing: error).prefix(300).description)
        }
    }

    private func write(_ line: String, to path: String?) -> Attempt {
        guard let path else {
            FileHandle.standardOutput.write(Data(line.utf8))
            return Attempt(delivered: true, retryable: false)
        }
        guard let handle = FileHandle(forWritingAtPath: path) ?? (FileManager.default.createFile(atPath: path, contents: nil)
            ? FileHandle(forWritingAtPath: path) : nil)
        else {
            return Attempt(delivered: false, retryable: true, error: "cannot open \(path) for writing")
        }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(line.utf8))
            return Attempt(delivered: true, retryable: false)
        } catch {
            return Attempt(delivered: false, retryable: true, error: "cannot write to \(path): \(error)")
        }
    }
}
