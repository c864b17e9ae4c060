import ErrWatchTestKit
import Foundation
import Testing

/// The agent's rules file: refused at start when wrong, reloaded on SIGHUP when right, and
/// kept as it was when a reload finds it wrong. Runs the built binary as its own process.
struct ReloadTests {
    static let good = """
        notifiers:
          - {name: ops, kind: log}
        rules:
          - {name: first, warning: 5%, notify: [ops]}
        """

    @Test func sighupReloadsGoodRulesAndKeepsThePreviousOnesWhenTheFileIsWrong() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let config = try workspace.write("errwatch.yaml", Self.good)
        let agent = try RunningBinary(["agent", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9/v1",
                                       "--db", workspace.path("agent.db"), "--config", config])
        defer { agent.terminate() }
        _ = try #require(await agent.listeningPort(marker: "errwatch agent listening"))
        var lines = agent.lines.makeAsyncIterator()

        _ = try workspace.write("errwatch.yaml", Self.good + "\n  - {name: second, warning: 2%, notify: [opz]}\n")
        kill(agent.process.processIdentifier, SIGHUP)
        var line = await lines.next() ?? ""
        #expect(line.contains("SIGHUP: kept the previous rules; the configuration file is wrong"))
        #expect(line.contains("Unknown notifier 'opz' in rule 'second' (\(config) line 5); defined notifiers: ops."))

        _ = try workspace.write("errwatch.yaml", Self.good + "\n  - {name: second, warning: 2%, notify: [ops]}\n")
        kill(agent.process.processIdentifier, SIGHUP)
        line = await lines.next() ?? ""
        #expect(line.contains("SIGHUP: reloaded rules and notifiers"))
        #expect(RunningBinary.fields(line)?["rules"] == "2")
        agent.terminate()
        #expect(await agent.exitStatus() == 0)
    }

    @Test func aWrongRulesFileStopsTheAgentAtStart() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let config = try workspace.write("errwatch.yaml", "rules:\n  - {name: a, warning: 2%, window: soon}\n")
        let agent = try RunningBinary(["agent", "--listen", "127.0.0.1:0", "--db", workspace.path("agent.db"), "--config", config])
        var output: [String] = []
        for await line in agent.lines { output.append(line) }
        #expect(await agent.exitStatus() == 64)
        #expect(output.joined(separator: "\n").contains("Invalid window 'soon' of rule 'a' (\(config) line 2); give a duration such as 5m, 1h or 30d."))
    }
}
