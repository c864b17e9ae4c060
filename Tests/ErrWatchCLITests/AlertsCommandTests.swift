@testable import ErrWatchCLI
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Testing

/// `errwatch alerts`: rules, list, history, and the replay on a fixture with a known answer.
struct AlertsCommandTests {
    /// Midnight before `now`: the fixture's three hours end at 03:00.
    static let start = now - Timestamp.day

    /// Three hours at 100 calls a minute: minutes 60–79 fail 20%, even minutes 120–128 fail 10%.
    static func fixture(_ workspace: Workspace) throws -> String {
        let db = workspace.path("history.db")
        let store = try Store.open(path: db)
        var outcomes: [CallOutcome] = []
        for minute in 0..<180 {
            let at = start + Int64(minute) * Timestamp.minute
            let errors = (60..<80).contains(minute) ? 20 : ((120..<130).contains(minute) && minute % 2 == 0 ? 10 : 0)
            outcomes.append(CallOutcome(timestamp: at, app: "shop", endpoint: "/v1/chat/completions", model: "gpt-4o", status: 200, count: 100 - errors))
            if errors > 0 {
                outcomes.append(CallOutcome(
                    timestamp: at, app: "shop", endpoint: "/v1/chat/completions", model: "gpt-4o", status: 503,
                    error: CallError(type: .serviceUnavailable, code: "overloaded", message: "busy", retryable: true), count: errors))
            }
        }
        _ = try store.record(outcomes)
        return db
    }

    static let rules = """
        rules:
          - {name: sustained, window: 5m, warning: 5%, critical: 50%, resolve: 2%}
          - {name: flappy, window: 1m, warning: 5%, resolve: 5%}
        """

    /// The answer worked out by hand. sustained (5-minute window): fires at minute 62 (40 of 500,
    /// Wilson bound 5.8%), resolves at 85 when the window is clean: 23 minutes; the second burst
    /// peaks at 30 of 500 (6%, bound 4.1%) and never fires it. flappy (1-minute window, no
    /// hysteresis): fires at 61, resolves at 81, then fires and resolves every other minute from
    /// 121 to 130: 6 firings, the last 5 each within an hour of the previous resolution (flaps).
    @Test func replayGivesTheKnownAnswer() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = try Self.fixture(workspace)
        let config = try workspace.write("errwatch.yaml", Self.rules)
        let range = ["--since", Timestamp.iso8601(Self.start), "--until", Timestamp.iso8601(Self.start + 180 * Timestamp.minute)]
        let csv = await errwatch(["alerts", "test", "--db", db, "--config", config, "--format", "csv"] + range, now: now)
        #expect(csv.exitCode == 0, "\(csv.stderr)")
        #expect(csv.stdout == "rule,fired,resolved,notifications,flaps,firing,firing_ms\r\nsustained,1,1,2,0,23m,1380000\r\nflappy,6,6,12,5,25m,1500000\r\n")

        let table = await errwatch(["alerts", "test", "--db", db, "--config", config] + range, now: now)
        #expect(table.stdout.contains("\(Timestamp.iso8601(Self.start + 62 * Timestamp.minute))  sustained  firing"))
        #expect(table.stdout.contains("\(Timestamp.iso8601(Self.start + 85 * Timestamp.minute))  sustained  resolved"))
        // A replay writes nothing.
        #expect(try Store.open(path: db).alertHistory(since: 0, until: .max).isEmpty)
    }

    /// README's example rules, replayed over `Examples/sample.ndjson` as README shows, do what
    /// README says they do: high-error-rate fires once in the 11:30 burst and resolves,
    /// availability warns (the sample's provider errors spend the budget twice too fast), and
    /// the rest stay quiet (two hours are less than new_error's day of learning).
    @Test func readmesExampleRulesOverTheSampleDoWhatReadmeSays() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let root = ReleaseBinary.packageRoot
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let block = try #require(readme.components(separatedBy: "```yaml\n").first { $0.hasPrefix("evaluation_interval:") })
        let config = try workspace.write("errwatch.yaml", try #require(block.components(separatedBy: "```").first))
        let db = workspace.path("sample.db")
        let ingest = await errwatch(["ingest", "--db", db, root.appendingPathComponent("Examples/sample.ndjson").path], now: now)
        #expect(ingest.exitCode == 0, "\(ingest.stderr)")
        let range = ["--since", "2026-11-25T09:00:00Z", "--until", "2026-11-25T13:00:00Z"]
        let replay = await errwatch(["alerts", "test", "--config", config, "--db", db, "--format", "csv"] + range, now: now)
        #expect(replay.exitCode == 0, "\(replay.stderr)")
        let fired = Dictionary(uniqueKeysWithValues: replay.stdout.split(separator: "\r\n").dropFirst().map { line in
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            return (String(cells[0]), (fired: Int(cells[1]) ?? -1, resolved: Int(cells[2]) ?? -1, flaps: Int(cells[4]) ?? -1))
        })
        #expect(fired.count == 4)
        #expect(fired["high-error-rate"].map { $0 == (1, 1, 0) } == true, "\(replay.stdout)")
        #expect(fired["availability"].map { $0 == (1, 0, 0) } == true, "\(replay.stdout)")
        #expect(fired["error-spike"]?.fired == 0 && fired["new-app-error"]?.fired == 0, "\(replay.stdout)")
    }

    @Test func rulesValidatesAndPrints() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let good = try workspace.write("good.yaml", Self.rules)
        let printed = await errwatch(["alerts", "rules", "--config", good, "--format", "csv"], now: now)
        #expect(printed.exitCode == 0)
        #expect(printed.stdout.hasPrefix("name,kind,metric,where,group_by,window,warning,critical,resolve,min_calls,for,repeat,no_data,notify\r\n"))
        #expect(printed.stdout.contains("sustained,threshold,error_rate,,,5m,5.00%,50.0%,2.00%,20,0s,,keep,\r\n"))
        let bad = try workspace.write("bad.yaml", "rules:\n  - name: a\n    warning: lots\n")
        let refused = await errwatch(["alerts", "rules", "--config", bad], now: now)
        #expect(refused.exitCode == 64)
        #expect(refused.stderr.contains("Invalid warning 'lots' of rule 'a' (\(bad) line 3)"))
    }

    @Test func listAndHistoryReadTheStoredAlerts() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = workspace.path("alerts.db")
        let store = try Store.open(path: db)
        let alert = AlertState(rule: "r", group: ["gpt-4o"], labels: ["model": "gpt-4o"], phase: .firing, severity: .critical,
                               value: 0.2, threshold: 0.05, calls: 100, errors: 20, activeSince: now - 60_000,
                               startsAt: now - 60_000, endsAt: nil, lastNotifiedAt: now - 60_000, updatedAt: now)
        _ = try store.saveAlerts(changes: [("r", ["gpt-4o"], alert)],
                                 events: [AlertEvent(kind: .firing, alert: alert, at: now - 60_000, notify: true, summary: "r is critical.")])
        let list = await errwatch(["alerts", "list", "--db", db, "--state", "firing", "--format", "json"], now: now)
        #expect(list.stdout.contains("\"rule\": \"r\", \"state\": \"firing\", \"severity\": \"critical\", \"labels\": {\"model\": \"gpt-4o\"}"))
        let none = await errwatch(["alerts", "list", "--db", db, "--state", "resolved", "--format", "csv"], now: now)
        #expect(none.stdout.split(separator: "\r\n").count == 1)
        let history = await errwatch(["alerts", "history", "--db", db, "--since", "1h", "--format", "csv"], now: now)
        #expect(history.stdout.contains(",r,firing,critical,model=gpt-4o,0.2,0.05,100,20,true,r is critical.\r\n"))
        let badState = await errwatch(["alerts", "list", "--db", db, "--state", "burning"], now: now)
        #expect(badState.exitCode == 64)
    }

    /// `alerts list` and `alerts history` read the database the configuration names, as `alerts test` does.
    @Test func listAndHistoryReadTheConfiguredDatabase() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = try Self.fixture(workspace)
        let config = try workspace.write("errwatch.yaml", "db: \(db)\nrules:\n  - name: r\n    warning: 5%\n")
        for command in [["alerts", "list"], ["alerts", "history", "--since", "7d"]] {
            let result = await errwatch(command + ["--config", config, "--format", "csv"], now: now)
            #expect(result.exitCode == 0, "\(command): \(result.stderr)")
        }
        let missing = try workspace.write("other.yaml", "db: \(workspace.path("absent.db"))\n")
        let refused = await errwatch(["alerts", "list", "--config", missing], now: now)
        #expect(refused.exitCode != 0)
        #expect(refused.stderr.contains("absent.db"), "it read the configured db: \(refused.stderr)")
    }
}
