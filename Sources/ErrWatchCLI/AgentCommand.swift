import ArgumentParser
import AsyncHTTPClient
import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// `errwatch agent`: the daemon.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Runs the recording proxy and errwatch's API.",
        discussion: helpText("""
            Point an app's base URL at http://HOST:PORT/v1 instead of its provider's: every
            request under /v1/ is forwarded to --upstream unchanged and its outcome recorded.
            errwatch's own API is under /api/v1/ (events, errors, rates, trend, alerts), with
            /healthz and /readyz. Alert rules and notifiers come from the config file (see
            `errwatch alerts rules --config FILE`); SIGHUP reloads them, keeping the previous
            ones when the file is wrong. SIGTERM or Ctrl-C stops it after in-flight requests
            finish, with every outcome written.

            Settings come from a flag, else an ERRWATCH_* variable, else the --config YAML file,
            else the default. Keys: \(AgentConfiguration.keys.map(\.key).joined(separator: ", ")).

            Examples:
              errwatch agent --upstream https://api.ofox.ai/v1
              OPENAI_BASE_URL=http://127.0.0.1:8787/v1 my-app
              errwatch agent --config /etc/errwatch.yaml --listen 127.0.0.1:9000
            """))

    @Option(help: ArgumentHelp("Address to listen on (default 127.0.0.1:8787).", valueName: "host:port"))
    var listen: String?
    @Option(help: ArgumentHelp("Base URL to forward /v1/* to (default https://api.ofox.ai/v1).", valueName: "url"))
    var upstream: String?
    @Option(help: ArgumentHelp("The database file (default: $ERRWATCH_DB, else the config's db, else ./errwatch.db).", valueName: "path"))
    var db: String?
    @Option(help: ArgumentHelp("A YAML configuration file (default: $ERRWATCH_CONFIG).", valueName: "file"))
    var config: String?
    @Option(help: ArgumentHelp("App name recorded for proxied calls without an x-errwatch-app header.", valueName: "name"))
    var app: String?
    @Flag(name: .customLong("allow-public"), help: "Listen on a non-loopback address even without auth_token.")
    var allowPublic = false

    /// The configuration by precedence: flag > environment > file > default.
    func resolve(environment: [String: String]) throws -> AgentConfiguration {
        var configuration: AgentConfiguration
        do throws(ErrWatchError) {
            configuration = try AgentConfiguration.load(file: config ?? environment["ERRWATCH_CONFIG"], environment: environment)
            for (key, value) in [("listen", listen), ("upstream", upstream), ("db", db), ("app", app)] {
                if let value { try configuration.set(key, to: value, origin: "--\(key)") }
            }
            if allowPublic { configuration.allowPublic = true }
            try configuration.checkExposure()
        } catch {
            throw ValidationError(error)
        }
        return configuration
    }

    func run() async throws {
        // A file-size limit must fail a write (counted as a drop), not kill the monitor.
        signal(SIGXFSZ, SIG_IGN)
        let context = CommandContext.current
        let configuration = try resolve(environment: context.environment)
        let logger = (configuration.logFormat ?? .standard).logger(label: "errwatch.agent", level: configuration.logLevel)
        // Under systemd (Type=notify): READY once listening, RELOADING around SIGHUP, the
        // watchdog, STOPPING. Without $NOTIFY_SOCKET, nothing.
        let systemd = SystemdNotifier(environment: context.environment)
        let path = configuration.database ?? DatabaseOptions.defaultPath
        // The address first: a port in use is said plainly, before any database is created.
        try await Self.checkListenable(host: configuration.host, port: configuration.port)
        var options = Store.Options()
        options.synchronous = configuration.synchronous
        var store = try Store.open(path: path, options: options)
        store.hostName = configuration.hostName
        try store.claimIdentity()
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Agent.clientConfiguration(for: configuration))
        let agent = Agent(configuration: configuration, store: store, client: client, logger: logger)
        let file = config ?? context.environment["ERRWATCH_CONFIG"]
        let reloader = ReloadService(logger: logger) { [environment = context.environment] in
            guard let file else {
                logger.info("SIGHUP: no configuration file to reload")
                return
            }
            systemd?.send(SystemdNotifier.reloading)
            defer { systemd?.send("READY=1") }
            do throws(ErrWatchError) {
                let reloaded = try AgentConfiguration.load(file: file, environment: environment)
                agent.alerts.update(reloaded.alerts)
                logger.info("SIGHUP: reloaded rules and notifiers", metadata: [
                    "rules": "\(reloaded.alerts.rules.count)", "notifiers": "\(reloaded.alerts.notifiers.count)"])
            } catch {
                logger.error("SIGHUP: kept the previous rules; the configuration file is wrong", metadata: ["error": "\(error.message)"])
            }
        }
        // Last in the list, so the first told of a graceful stop: STOPPING=1 goes out at once.
        let supervisor: [any Service] = systemd.map { notifier in
            [SystemdService(notifier: notifier, watchdogInterval: SystemdNotifier.watchdogInterval(environment: context.environment),
                            logger: logger, writerIsResponsive: { [writer = agent.writer] in writer.isResponsive(within: $0) })]
        } ?? []
        let group = ServiceGroup(
            configuration: .init(
                services: [reloader] + agent.services { port in
                    logger.info("errwatch agent listening on http://\(configuration.host):\(port); /v1/* goes to \(AgentConfiguration.shown(configuration.upstream)); recording into \(path)")
                    // The database is open and migrated (Store.open) and the port answers.
                    systemd?.send("READY=1\nSTATUS=listening on \(configuration.host):\(port), recording into \(path)")
                } + supervisor,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
                .withGracefulShutdownTimeout(.milliseconds(configuration.shutdownGraceMs)))
        do {
            try await group.run()
        } catch {
            try? await client.shutdown()
            try? store.close()
            throw error
        }
        try await client.shutdown()
        // Everything accepted is written; the file alone now holds it (no WAL beside it).
        do {
            try store.close()
        } catch {
            logger.warning("The database could not be checkpointed on stop; its -wal file beside it holds the latest writes", metadata: ["error": "\(Store.describe(error))"])
        }
        let statistics = agent.writer.statistics
        logger.info("errwatch agent stopped", metadata: [
            "written": "\(statistics.written)", "dropped": "\(statistics.dropped)"])
    }
}

extension AgentCommand {
    /// Binds `host:port` and lets it go again, so that an address the agent cannot listen on is
    /// refused with a sentence that names it and the setting, not with the socket call's words.
    static func checkListenable(host: String, port: Int) async throws {
        guard port != 0 else { return }
        do {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port).get()
            try await channel.close()
        } catch {
            let reason = (error as? IOError).map { $0.errnoCode == EADDRINUSE ? "the address is in use by another process" : String(cString: strerror($0.errnoCode)).lowercased() }
                ?? "\(error)"
            throw ErrWatchError(.configuration,
                "Cannot listen on \(host):\(port): \(reason); choose another address with --listen or ERRWATCH_LISTEN.")
        }
    }
}

extension ServiceGroupConfiguration {
    /// This configuration, cutting what is still running `timeout` after a stop begins.
    func withGracefulShutdownTimeout(_ timeout: Duration) -> ServiceGroupConfiguration {
        var configuration = self
        configuration.maximumGracefulShutdownDuration = timeout
        return configuration
    }
}
