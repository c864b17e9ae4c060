import ErrWatchAgent
import ErrWatchCore
import Testing

/// The alerting part of the YAML configuration: the example, every kind, and every
/// way a rules file can be wrong, each refused with its line and the reason.
struct AlertsConfigurationTests {
    static let example = """
        evaluation_interval: 15s
        notifiers:
          - name: ops
            kind: webhook            # webhook | slack | alertmanager | command | log
            url: http://127.0.0.1:9000/hook
          - name: am
            kind: alertmanager
            url: http://127.0.0.1:9093
        rules:
          - name: high-error-rate
            kind: threshold          # threshold | change | burn_rate | new_error
            metric: error_rate       # error_rate | error_count
            where: {type: rate_limit_error}   # optional filter on app, endpoint, model, status, type, code
            group_by: [model]        # one alert per group
            window: 5m
            warning: 2%              # "2%" or 0.02
            critical: 5%
            resolve: 1%              # hysteresis: back to normal only below this
            min_calls: 20            # no alert from too few calls
            for: 1m                  # pending this long before firing
            repeat: 1h               # re-notify while firing
            notify: [ops, am]
        """

    func parse(_ yaml: String) throws(ErrWatchError) -> AgentConfiguration {
        var configuration = AgentConfiguration()
        try configuration.apply(yaml: yaml, path: "errwatch.yaml")
        return configuration
    }

    func message(_ yaml: String) -> String? {
        do {
            _ = try parse(yaml)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func theDocumentedExampleParses() throws {
        let alerts = try parse(Self.example).alerts
        #expect(alerts.evaluationIntervalMs == 15_000)
        #expect(alerts.notifiers.map(\.name) == ["ops", "am"])
        #expect(alerts.notifiers.map(\.kind) == [.webhook, .alertmanager])
        let rule = try #require(alerts.rules.first)
        #expect(rule.name == "high-error-rate" && rule.kind == .threshold && rule.metric == .errorRate)
        #expect(rule.scope.types == ["rate_limit_error"])
        #expect(rule.groupBy == [.model])
        #expect(rule.windowMs == 300_000 && rule.forMs == 60_000 && rule.repeatMs == 3_600_000)
        #expect(rule.warning == 0.02 && rule.critical == 0.05 && rule.resolve == 0.01)
        #expect(rule.minCalls == 20 && rule.credible)
        #expect(rule.notify == ["ops", "am"])
    }

    @Test func everyKindParsesWithItsOwnSettings() throws {
        let rules = try parse("""
            rules:
              - {name: spike, kind: change, compare: day, factor: 3, min_rate: 1%, window: 10m, severity: critical}
              - {name: slo, kind: burn_rate, slo: 99.9%, period: 28d}
              - name: custom-slo
                kind: burn_rate
                windows:
                  - {long: 2h, short: 10m, factor: 10, severity: critical}
              - {name: fresh, kind: new_error, lookback: 3d, no_data: keep}
              - {name: count, metric: error_count, warning: 50, where: {status: [500, 502], app: shop}}
            """).alerts.rules
        #expect(rules.map(\.kind) == [.change, .burnRate, .burnRate, .newError, .threshold])
        #expect(rules[0].compare == .day && rules[0].warning == 3 && rules[0].minRate == 0.01 && rules[0].severity == .critical)
        #expect(abs(rules[1].slo - 0.999) < 1e-12 && rules[1].periodMs == 28 * Timestamp.day)
        // A 28-day period spends the Workbook's budget shares at 28/30 of its 30-day factors.
        #expect(rules[1].burnWindows.map(\.factor) == [13.44, 5.6, 0.933])
        #expect(rules[1].burnWindows.map(\.longMs) == AlertRule.BurnWindow.workbook.map(\.longMs))
        #expect(rules[2].burnWindows == [AlertRule.BurnWindow(longMs: 2 * Timestamp.hour, shortMs: 10 * Timestamp.minute, factor: 10, severity: .critical)])
        #expect(rules[3].lookbackMs == 3 * Timestamp.day && rules[3].noData == .keep && !rules[3].sendResolved)
        #expect(rules[4].metric == .errorCount && rules[4].warning == 50 && rules[4].scope.statuses == [500, 502] && rules[4].scope.apps == ["shop"])
    }

    @Test func aBrokenRulesFileIsRefusedWithItsLineAndReason() {
        #expect(message("rules:\n  - name: a\n    warning: 2%\n    windw: 5m\n")
            == "Unknown setting 'windw' in rule 'a' (errwatch.yaml line 4); rules take: name, kind, metric, where, group_by, window, warning, critical, resolve, min_calls, credible, for, repeat, notify, send_resolved, no_data, compare, factor, min_rate, slo, period, windows, lookback, learning, severity, percentile, after.")
        #expect(message("notifiers:\n  - {name: ops, kind: log}\nrules:\n  - name: high-error-rate\n    warning: 2%\n    notify: [opz]\n")
            == "Unknown notifier 'opz' in rule 'high-error-rate' (errwatch.yaml line 6); defined notifiers: ops.")
        #expect(message("rules:\n  - name: a\n    warning: 2 percent\n")
            == "Invalid warning '2 percent' of rule 'a' (errwatch.yaml line 3); give a percentage such as 2% or a fraction such as 0.02.")
        #expect(message("rules:\n  - name: a\n    warning: 150%\n")
            == "Invalid warning '150%' of rule 'a' (errwatch.yaml line 3); give a percentage such as 2% or a fraction such as 0.02.")
        #expect(message("rules:\n  - name: a\n    warning: 2%\n    window: five minutes\n")
            == "Invalid window 'five minutes' of rule 'a' (errwatch.yaml line 4); give a duration such as 5m, 1h or 30d.")
        #expect(message("rules:\n  - name: a\n    kind: treshold\n")
            == "Unknown kind 'treshold' of rule 'a' (errwatch.yaml line 3); use one of: threshold, change, burn_rate, new_error, latency, ttft, hanging.")
        #expect(message("rules:\n  - name: a\n    window: 5m\n")
            == "The threshold rule 'a' (errwatch.yaml line 2) needs a warning or a critical level.")
        #expect(message("rules:\n  - name: a\n    warning: 5%\n    critical: 2%\n")
            == "The rule 'a' (errwatch.yaml line 2) has critical below warning; critical must be the higher level.")
        #expect(message("rules:\n  - name: a\n    warning: 2%\n  - name: a\n    warning: 3%\n")
            == "Rule 'a' (errwatch.yaml line 4) is defined twice; give each rule its own name.")
        #expect(message("rules:\n  - name: a\n    warning: 2%\n    where: {colour: red}\n")
            == "Unknown where key 'colour' in rule 'a' (errwatch.yaml line 4); filter on any of: app, endpoint, model, upstream, provider, host, status, type, code, fault.")
        #expect(message("notifiers:\n  - {name: ops, kind: pager}\n")
            == "Unknown kind 'pager' of notifier 'ops' (errwatch.yaml line 2); use one of: webhook, slack, alertmanager, command, log.")
        #expect(message("notifiers:\n  - {name: ops, kind: webhook}\n")
            == "Notifier 'ops' (errwatch.yaml line 2) of kind webhook needs a url.")
        #expect(message("rules: 5\n") == "'rules' (errwatch.yaml line 1) must be a list.")
        #expect(message("rules:\n  - {name: a, kind: new_error, lookback: 1d}\n")
            == "The new_error rule 'a' (errwatch.yaml line 2) looks back no further than its window and learning period (1d5m); set lookback longer than that.")
    }

    /// A rule's `where.status` reads statuses as `--status` does: `5xx` is the class.
    @Test func whereStatusTakesClassesLikeTheFilters() throws {
        let configuration = try parse("rules:\n  - {name: a, warning: 2%, where: {status: [5xx, 429]}}\n")
        #expect(configuration.alerts.rules.first?.scope.statuses == Array(500...599) + [429])
        #expect(message("rules:\n  - {name: a, warning: 2%, where: {status: 5x}}\n")
            == "Invalid where.status '5x' in rule 'a' (errwatch.yaml line 2); give HTTP statuses such as 429 or 5xx, or 0 for no response.")
    }

    /// README gives `0s` as the default of `for`: every way of writing zero is accepted.
    @Test func forMayBeZeroAsReadmeWritesIt() throws {
        for zero in ["0", "0s", "0m"] {
            let configuration = try parse("rules:\n  - name: a\n    warning: 2%\n    for: \(zero)\n")
            #expect(configuration.alerts.rules.first?.forMs == 0, "for: \(zero)")
            let learning = try parse("rules:\n  - {name: a, kind: new_error, learning: \(zero)}\n")
            #expect(learning.alerts.rules.first?.learningMs == 0, "learning: \(zero)")
        }
    }
}
