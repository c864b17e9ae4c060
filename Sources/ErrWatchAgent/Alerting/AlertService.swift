import AsyncAlgorithms
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Logging
import ServiceLifecycle
import Synchronization

/// The aggregator: evaluates the rules every `evaluation_interval` against the recorded counts,
/// keeps alert state in the database, and hands notifications to the dispatcher. Evaluation
/// runs off the request threads, so a slow one never delays proxied traffic.
public final class AlertService: Service, Sendable {
    private struct State: Sendable {
        var rules: [AlertRule]
        var alerts: [AlertEngine.Key: AlertState] = [:]
        var loaded = false
        /// Changes and events a failed save could not store, retried with the next save.
        var unsaved: [AlertEngine.Key: AlertState?] = [:]
        var unsavedEvents: [AlertEvent] = []
        /// When each firing alert was last sent to Alertmanager, which expects repeats.
        var keptAlive: [AlertEngine.Key: Int64] = [:]
        var digests: [DigestConfiguration] = []
        /// When each digest is next due (set the first time it is looked at: none is caught up).
        var nextDigest: [String: Int64] = [:]
    }

    private let state: Mutex<State>
    /// Serialises evaluations: a manual one (tests) and the timer's never overlap.
    private let evaluating = AsyncLock()
    public let dispatcher: NotifierDispatcher
    private let store: Store
    private let intervalMs: Int64
    private let dashboardURLs: Mutex<String>
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let inflight: @Sendable () -> [InflightCall]
    /// Told of every alert event (the OpenTelemetry export).
    private let observe: @Sendable (AlertEvent) -> Void

    /// How often Alertmanager hears again about an alert that is still firing.
    static let keepAliveMs = Timestamp.minute

    /// A service evaluating `configuration`'s rules over `store`, notifying through `dispatcher`.
    /// `inflight` gives the calls under way, for hanging rules.
    public init(configuration: AlertsConfiguration, store: Store, dispatcher: NotifierDispatcher, dashboardURL: String,
                logger: Logger, now: @escaping @Sendable () -> Int64, inflight: @escaping @Sendable () -> [InflightCall] = { [] },
                observe: @escaping @Sendable (AlertEvent) -> Void = { _ in }) {
        self.observe = observe
        state = Mutex(State(rules: configuration.rules, digests: configuration.digests))
        self.inflight = inflight
        self.dispatcher = dispatcher
        self.store = store
        intervalMs = configuration.evaluationIntervalMs
        dashboardURLs = Mutex(dashboardURL)
        self.logger = logger
        self.now = now
    }

    /// Where links in notifications point: the external URL, else the address the agent listens on.
    public var dashboardURL: String {
        get { dashboardURLs.withLock { $0 } }
        set { dashboardURLs.withLock { $0 = newValue } }
    }

    /// The alerts as this process holds them (pending, firing, and the last resolved ones).
    public var currentAlerts: [AlertState] { state.withLock { Array($0.alerts.values) } }

    /// The rules in force.
    public var rules: [AlertRule] { state.withLock { $0.rules } }

    /// Replaces the rules and notifiers (a configuration reload). Alerts of removed rules
    /// resolve at the next evaluation without notifying.
    public func update(_ configuration: AlertsConfiguration) {
        state.withLock { state in
            state.rules = configuration.rules
            // A digest whose settings changed is scheduled afresh.
            for digest in state.digests where !configuration.digests.contains(digest) { state.nextDigest[digest.name] = nil }
            state.digests = configuration.digests
        }
        dispatcher.update(configuration.notifiers)
    }

    /// The digests in force.
    public var digests: [DigestConfiguration] { state.withLock { $0.digests } }

    /// Sends each digest whose time has come at `now()`: the period before its scheduled time,
    /// to its notifiers. A digest is first due at its next time after the agent started (or
    /// after its settings changed): a time missed while the agent was down is not sent late.
    /// Returns the names of the digests sent.
    @discardableResult
    public func sendDueDigests() async -> [String] {
        let at = now()
        let due = state.withLock { state -> [(DigestConfiguration, Int64)] in
            var due: [(DigestConfiguration, Int64)] = []
            for digest in state.digests {
                let next = state.nextDigest[digest.name] ?? digest.schedule.next(after: at)
                if at >= next { due.append((digest, next)) }
                state.nextDigest[digest.name] = at >= next ? digest.schedule.next(after: at) : next
            }
            return due
        }
        let store = store
        var sent: [String] = []
        for (digest, boundary) in due {
            let period = digest.schedule.period(endingAt: boundary)
            do {
                let report = try await offload { try PeriodReport.read(store: store, since: period.lowerBound, until: period.upperBound, by: digest.by) }
                dispatcher.send(DigestPayload(digest: digest, report: report, dashboardURL: dashboardURL), eventID: nil, retried: true, to: digest.notify)
                sent.append(digest.name)
            } catch {
                logger.error("digest could not be read", metadata: ["digest": "\(digest.name)", "error": "\(Store.describe(error))"])
            }
        }
        return sent
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.dispatcher.run() }
            group.addTask {
                // Digests are due at wall-clock times: looked at every second.
                for await _ in AsyncTimerSequence(interval: .seconds(1), clock: .continuous).cancelOnGracefulShutdown() {
                    await self.sendDueDigests()
                }
            }
            let ticks = AsyncTimerSequence(interval: .milliseconds(intervalMs), clock: .continuous).cancelOnGracefulShutdown()
            _ = try? await evaluate()
            for await _ in ticks {
                _ = try? await evaluate()
            }
            dispatcher.finish()
        }
    }

    /// One evaluation at `now()`: loads the stored alerts the first time, steps every rule,
    /// stores what changed, queues the notifications. Returns what happened.
    @discardableResult
    public func evaluate() async throws -> AlertEngine.Result {
        await evaluating.lock()
        defer { evaluating.unlock() }
        let at = now()
        let store = store
        if !state.withLock({ $0.loaded }) {
            let stored = try await offload { try store.alerts() }
            state.withLock { state in
                for alert in stored { state.alerts[AlertEngine.Key(rule: alert.rule, group: alert.group)] = alert }
                state.loaded = true
            }
        }
        let (rules, before) = state.withLock { ($0.rules, $0.alerts) }
        let underway = rules.contains { $0.kind == .hanging } ? inflight() : []
        let (result, after) = try await offload {
            var alerts = before
            let result = AlertEngine.evaluate(rules, at: at, source: StoreCountSource(store: store, inflight: underway), states: &alerts)
            return (result, alerts)
        }
        for (rule, error) in result.failures {
            logger.error("alert rule could not be evaluated", metadata: ["rule": "\(rule)", "error": "\(Store.describe(error))"])
        }
        let (changes, events) = state.withLock { state in
            state.alerts = after
            for change in result.changes {
                state.unsaved[AlertEngine.Key(rule: change.rule, group: change.group)] = .some(change.state)
            }
            state.unsavedEvents += result.events
            return (state.unsaved.map { (rule: $0.key.rule, group: $0.key.group, state: $0.value) }, state.unsavedEvents)
        }
        for event in result.events { observe(event) }
        var ids: [Int64?] = Array(repeating: nil, count: events.count)
        do {
            let saved = try await offload { try store.saveAlerts(changes: changes, events: events) }
            ids = saved.map(Optional.some)
            state.withLock { state in
                state.unsaved = [:]
                state.unsavedEvents = []
            }
        } catch {
            // Notify anyway: a locked database must not silence an alert. The state is saved later.
            logger.error("could not store alert state; will retry", metadata: ["error": "\(Store.describe(error))"])
        }
        let fresh = Set(result.events.indices.map { events.count - result.events.count + $0 })
        let byName = Dictionary(rules.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (index, event) in events.enumerated() where fresh.contains(index) && event.notify {
            guard let rule = byName[event.alert.rule] else { continue }
            dispatcher.send(AlertPayload(event: event, rule: rule, dashboardURL: dashboardURL), eventID: ids[index], to: rule.notify)
            if event.kind != .resolved {
                state.withLock { $0.keptAlive[AlertEngine.Key(rule: rule.name, group: event.alert.group)] = at }
            }
        }
        keepAlertmanagerInformed(rules: rules, at: at)
        return result
    }

    /// Re-sends firing alerts to Alertmanager notifiers every ``keepAliveMs``, as Alertmanager
    /// expects of its clients; it resolves an alert by itself when the repeats stop.
    private func keepAlertmanagerInformed(rules: [AlertRule], at: Int64) {
        let due: [(AlertRule, AlertState)] = state.withLock { state in
            var due: [(AlertRule, AlertState)] = []
            for rule in rules where !rule.notify.isEmpty {
                for (key, alert) in state.alerts where key.rule == rule.name && alert.phase == .firing {
                    if at - (state.keptAlive[key] ?? .min / 2) >= Self.keepAliveMs {
                        state.keptAlive[key] = at
                        due.append((rule, alert))
                    }
                }
            }
            state.keptAlive = state.keptAlive.filter { state.alerts[$0.key]?.phase == .firing }
            return due
        }
        for (rule, alert) in due {
            let targets = dispatcher.kinds(of: rule.notify).filter { $0.value == .alertmanager }.map(\.key)
            guard !targets.isEmpty else { continue }
            let event = AlertEvent(kind: .repeat, alert: alert, at: at, notify: true)
            dispatcher.send(AlertPayload(event: event, rule: rule, dashboardURL: dashboardURL), eventID: nil, to: targets)
        }
    }
}

/// A lock for async code: waiters suspend instead of blocking a thread, and go in turn.
final class AsyncLock: Sendable {
    private let state = Mutex<(locked: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func lock() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state in
                if state.locked {
                    state.waiters.append(continuation)
                    return false
                }
                state.locked = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    func unlock() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
