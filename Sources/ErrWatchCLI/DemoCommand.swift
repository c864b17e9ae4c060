import ArgumentParser
import AsyncHTTPClient
import ErrWatchAgent
import ErrWatchCore
import ErrWatchMock
import ErrWatchReport
import ErrWatchStore
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `errwatch demo`: the whole product in one process, on embedded defaults.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Runs a fake upstream, the agent in front of it, and simulated apps, and shows live error rates.",
        discussion: helpText("""
            Starts errwatch's fake OpenAI-compatible API with a realistic error mix, the agent in
            front of it, and a few simulated apps that retry as the provider guide advises. For
            --duration it shows calls, errors and error rate by type, refreshed in place; then a
            summary and the commands to explore the database it leaves behind. Ctrl-C stops it
            early, cleanly.

            Early on, the provider rate-limits half of all requests for a while (from 8% to 25%
            of --duration). The demo's alert rule, rate-limit-storm, fires during that burst and
            resolves after it (the rule's window is one minute: run at least 90s to see both);
            its notifications go to a log file beside the database.

            Example:
              errwatch demo --duration 90s
            """))

    @Option(help: ArgumentHelp("How long to run.", valueName: "duration"))
    var duration = "90s"
    @Option(help: ArgumentHelp("The database to record into (default: a new file in the temporary folder, kept).", valueName: "path"))
    var db: String?
    @Option(help: "Simulated clients.")
    var clients = 4
    @Option(help: "Requests per second from all clients together.")
    var rate = 25.0

    func run() async throws {
        let context = CommandContext.current
        let length = try parseDuration(duration, option: "--duration")
        guard length >= 1_000 else { throw ValidationError("Invalid --duration '\(duration)'; run the demo for at least 1s.") }
        guard (1...64).contains(clients), rate > 0, rate <= 5_000 else {
            throw ValidationError("Give --clients from 1 to 64 and --rate from 0 (excluded) to 5000.")
        }
        let path = db ?? FileManager.default.temporaryDirectory.appendingPathComponent("errwatch-demo-\(UUID().uuidString.prefix(8)).db").path
        var logger = Logger(label: "errwatch.demo")
        logger.logLevel = .warning

        var mockConfiguration = MockUpstream.Configuration()
        mockConfiguration.port = 0
        mockConfiguration.mix = [(429, 0.06), (500, 0.01), (502, 0.02), (503, 0.02), (400, 0.005)]
        mockConfiguration.latencyMs = 20...150
        mockConfiguration.streamErrorShare = 0.02
        mockConfiguration.chunkDelayMs = 15
        mockConfiguration.seed = 42
        let mock = MockUpstream(configuration: mockConfiguration, logger: logger)
        let (mockPorts, mockPort) = AsyncStream.makeStream(of: Int.self)
        let mockGroup = ServiceGroup(services: [mock.application { mockPort.yield($0) }], logger: logger)

        // Recorded, and the file named for a merge, as an agent here would: under
        // ERRWATCH_HOST_NAME, else this machine's name.
        var opened = try Store.open(path: path)
        if let name = context.hostName { opened.hostName = name }
        try opened.claimIdentity()
        let store = opened
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Agent.clientConfiguration(for: AgentConfiguration()))
        let started = context.now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await mockGroup.run() }
            var ports = mockPorts.makeAsyncIterator()
            guard let upstreamPort = await ports.next() else { return }

            var configuration = AgentConfiguration()
            configuration.port = 0
            configuration.upstream = "http://127.0.0.1:\(upstreamPort)/v1"
            do throws(ErrWatchError) {
                try configuration.apply(yaml: Self.alertRules(log: path + ".alerts.jsonl"), path: "the demo's rules")
            } catch {
                throw ValidationError(error)
            }
            configuration.hostName = store.hostName
            let agent = Agent(configuration: configuration, store: store, client: client, logger: logger)
            let (agentPorts, agentPort) = AsyncStream.makeStream(of: Int.self)
            var agentIterator = agentPorts.makeAsyncIterator()
            let driver = DemoDriver(
                agent: agent, client: client, ports: { await agentIterator.next() ?? 0 }, length: length,
                clients: clients, rate: rate, started: started, context: context)
            let agentGroup = ServiceGroup(configuration: .init(
                services: agent.services { agentPort.yield($0) }.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
                    + [.init(service: driver, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigint, .sigterm],
                logger: logger))
            try await agentGroup.run()
            await mockGroup.triggerGracefulShutdown()
            try await group.waitForAll()
            try await client.shutdown()

            context.print(try driver.summary(path: path, now: context.now()))
        }
        // The file the demo names holds everything once it is closed: no WAL beside it.
        try store.close()
    }

    /// The demo's alerting: a rate-limit rule that the burst sets off, evaluated every 2 s,
    /// notifying a log file.
    static func alertRules(log: String) -> String {
        """
        evaluation_interval: 2s
        notifiers:
          - {name: demo-log, kind: log, path: \(JSONOutput.quoted(log))}
        rules:
          - name: rate-limit-storm
            kind: threshold
            where: {type: rate_limit_error}
            window: 1m
            warning: 15%
            critical: 30%
            resolve: 10%
            min_calls: 20
            notify: [demo-log]
        """
    }
}
