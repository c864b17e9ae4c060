import ErrWatchCore
import Testing

/// The state machine stepped by hand with an injected clock (plain millisecond values).
struct AlertStateMachineTests {
    static let minute = Timestamp.minute

    func rule(for forMs: Int64 = 0, repeatMs: Int64? = nil, noData: AlertRule.NoData = .resolve) -> AlertRule {
        var rule = AlertRule(name: "errors")
        rule.groupBy = [.model]
        rule.warning = 0.02
        rule.critical = 0.05
        rule.forMs = forMs
        rule.repeatMs = repeatMs
        rule.noData = noData
        return rule
    }

    func bad(_ severity: AlertSeverity) -> Verdict { Verdict(.alerting(severity), value: 0.1, threshold: 0.05, calls: 100, errors: 10) }
    let normal = Verdict(.normal, value: 0, threshold: 0.02, calls: 100, errors: 0)
    let noData = Verdict(.noData, value: 0, threshold: 0.02, calls: 0, errors: 0)

    /// Steps through verdicts one minute apart, returning the last state and the kinds of every event.
    func run(_ rule: AlertRule, _ verdicts: [Verdict], from state: AlertState? = nil) -> (AlertState?, [AlertEvent.Kind], [Bool]) {
        var state = state
        var kinds: [AlertEvent.Kind] = []
        var notified: [Bool] = []
        for (index, verdict) in verdicts.enumerated() {
            let (next, events) = AlertStateMachine.step(state, verdict: verdict, rule: rule, group: ["gpt-4o"], now: Int64(index) * Self.minute)
            state = next
            kinds += events.map(\.kind)
            notified += events.map(\.notify)
        }
        return (state, kinds, notified)
    }

    @Test func firesAtOnceWithoutForAndNotifiesOnce() {
        let (state, kinds, notified) = run(rule(), [bad(.warning), bad(.warning), bad(.warning)])
        #expect(kinds == [.firing])
        #expect(notified == [true])
        #expect(state?.phase == .firing)
        #expect(state?.startsAt == 0)
        #expect(state?.labels == ["model": "gpt-4o"])
    }

    @Test func waitsOutForBeforeFiring() {
        let (state, kinds, _) = run(rule(for: 2 * Self.minute), [bad(.warning), bad(.warning), bad(.critical)])
        #expect(kinds == [.pending, .firing])
        #expect(state?.phase == .firing)
        #expect(state?.severity == .critical)
        #expect(state?.startsAt == 2 * Self.minute)
        #expect(state?.activeSince == 0)
    }

    @Test func pendingThatRecoversIsCancelledWithoutNotifying() {
        let (state, kinds, notified) = run(rule(for: 5 * Self.minute), [bad(.warning), normal])
        #expect(kinds == [.pending, .cancelled])
        #expect(notified == [false, false])
        #expect(state == nil)
    }

    @Test func repeatsWhileFiringOnlyAfterTheRepeatInterval() {
        let verdicts = Array(repeating: bad(.warning), count: 7)
        let (_, kinds, _) = run(rule(repeatMs: 3 * Self.minute), verdicts)
        #expect(kinds == [.firing, .repeat, .repeat])
    }

    @Test func severityChangesAreEventsBothWays() {
        let (state, kinds, notified) = run(rule(), [bad(.warning), bad(.critical), bad(.critical), bad(.warning)])
        #expect(kinds == [.firing, .severity, .severity])
        #expect(notified == [true, true, true])
        #expect(state?.severity == .warning)
    }

    @Test func resolvesWithEndTimeAndNotifies() {
        let (state, kinds, notified) = run(rule(), [bad(.warning), normal])
        #expect(kinds == [.firing, .resolved])
        #expect(notified == [true, true])
        #expect(state?.phase == .resolved)
        #expect(state?.startsAt == 0)
        #expect(state?.endsAt == Self.minute)
    }

    @Test func firesAnewAfterResolving() {
        let (state, kinds, _) = run(rule(), [bad(.warning), normal, bad(.critical)])
        #expect(kinds == [.firing, .resolved, .firing])
        #expect(state?.startsAt == 2 * Self.minute)
        #expect(state?.endsAt == nil)
    }

    @Test func holdChangesNothing() {
        let hold = Verdict(.hold, value: 0.5, threshold: 0.02, calls: 3, errors: 1)
        let (state, kinds, _) = run(rule(), [bad(.warning), hold, hold])
        #expect(kinds == [.firing])
        #expect(state?.phase == .firing)
    }

    @Test func noDataFollowsTheRule() {
        #expect(run(rule(noData: .resolve), [bad(.warning), noData]).1 == [.firing, .resolved])
        #expect(run(rule(noData: .keep), [bad(.warning), noData]).1 == [.firing])
        let (state, kinds, _) = run(rule(noData: .alert), [noData])
        #expect(kinds == [.firing])
        #expect(state?.severity == .critical)
    }

    @Test func resolvedNoticeCanBeTurnedOff() {
        var quiet = rule()
        quiet.sendResolved = false
        let (_, kinds, notified) = run(quiet, [bad(.warning), normal])
        #expect(kinds == [.firing, .resolved])
        #expect(notified == [true, false])
    }

    /// A restart reloads the stored state: whatever it was, the next step continues it
    /// without repeating a notification already sent.
    @Test func continuesFromAStoredStateInEveryPhase() {
        let rule = rule(for: 2 * Self.minute, repeatMs: 60 * Self.minute)
        // Pending for one minute before the restart: fires one minute later, not two.
        let (pending, _, _) = run(rule, [bad(.warning)])
        let (_, first) = AlertStateMachine.step(pending, verdict: bad(.warning), rule: rule, group: ["gpt-4o"], now: Self.minute)
        #expect(first.isEmpty)
        let (_, second) = AlertStateMachine.step(pending, verdict: bad(.warning), rule: rule, group: ["gpt-4o"], now: 2 * Self.minute)
        #expect(second.map(\.kind) == [.firing])
        // Firing: the same severity again notifies nothing; normal resolves it.
        let (firing, _, _) = run(rule, [bad(.warning), bad(.warning), bad(.warning)])
        #expect(firing?.phase == .firing)
        let (_, again) = AlertStateMachine.step(firing, verdict: bad(.warning), rule: rule, group: ["gpt-4o"], now: 3 * Self.minute)
        #expect(again.isEmpty)
        let (_, resolved) = AlertStateMachine.step(firing, verdict: normal, rule: rule, group: ["gpt-4o"], now: 3 * Self.minute)
        #expect(resolved.map(\.kind) == [.resolved])
        // Resolved: stays quiet while normal, fires anew when bad.
        let (done, _, _) = run(rule, [bad(.warning), bad(.warning), bad(.warning), normal])
        #expect(done?.phase == .resolved)
        #expect(AlertStateMachine.step(done, verdict: normal, rule: rule, group: ["gpt-4o"], now: 5 * Self.minute).events.isEmpty)
        #expect(AlertStateMachine.step(done, verdict: bad(.critical), rule: rule, group: ["gpt-4o"], now: 5 * Self.minute).events.map(\.kind) == [.pending])
    }
}
