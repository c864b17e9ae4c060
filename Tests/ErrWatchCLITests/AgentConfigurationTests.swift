import ArgumentParser
import ErrWatchAgent
@testable import ErrWatchCLI
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import Logging
import Testing

@Suite struct AgentConfigurationTests {
    @Test func everySettingHasADefault() throws {
        let configuration = try AgentCommand.parse([]).resolve(environment: [:])
        #expect(configuration.host == "127.0.0.1" && configuration.port == 8787)
        #expect(configuration.upstream == "https://api.ofox.ai/v1")
        #expect(configuration.database == nil && configuration.app == "default" && configuration.authToken == nil)
        #expect(configuration.maxRequestBody == 32 << 20 && configuration.maxIngestBody == 8 << 20)
        #expect(configuration.timeoutMs == 60_000 && configuration.streamTimeoutMs == 300_000)
        #expect(configuration.shutdownGraceMs == 30_000)
    }

    @Test func flagBeatsEnvironmentBeatsFileBeatsDefault() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let file = try workspace.write("errwatch.yaml", """
            # errwatch agent settings
            listen: 127.0.0.1:9001
            upstream: http://file.example/v1
            app: from-file
            timeout: 30s
            max_request_body: 1MiB

            """)
        let environment = ["ERRWATCH_UPSTREAM": "http://env.example/v1/", "ERRWATCH_APP": "from-env"]
        let configuration = try AgentCommand.parse(["--config", file, "--app", "from-flag"]).resolve(environment: environment)
        #expect(configuration.app == "from-flag")
        #expect(configuration.upstream == "http://env.example/v1")
        #expect(configuration.port == 9001 && configuration.timeoutMs == 30_000 && configuration.maxRequestBody == 1 << 20)
        #expect(configuration.streamTimeoutMs == 300_000)
        let viaVariable = try AgentCommand.parse([]).resolve(environment: ["ERRWATCH_CONFIG": file])
        #expect(viaVariable.app == "from-file")
    }

    @Test func anUnknownKeyIsAnErrorWithItsLine() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let file = try workspace.write("errwatch.yaml", "listen: 127.0.0.1:9001\nupstraem: http://x.example/v1\n")
        #expect(validationMessage { try AgentCommand.parse(["--config", file]).resolve(environment: [:]) } == "Unknown setting 'upstraem' (\(file) line 2); known settings: listen, upstream, tls_ca_file, db, app, provider, host_name, auth_token, max_request_body, max_ingest_body, timeout, stream_timeout, shutdown_grace, header_timeout, body_timeout, idle_timeout, max_connections, allowed_hosts, allow_public, synchronous, retain_errors, retain_minute_counts, retain_rollups, retain_alerts, max_db_size, prune_interval, evaluation_interval, external_url, log_format, log_level, otlp_endpoint, otlp_headers, otlp_interval, upstreams, notifiers, rules, digests.")
    }

    /// Retention has defaults the agent applies by itself; each kind can be kept forever.
    @Test func retentionSettingsHaveDefaultsAndTakeForever() throws {
        let defaults = try AgentCommand.parse([]).resolve(environment: [:])
        #expect(defaults.retention.errorsMs == 30 * 86_400_000 && defaults.retention.minuteCountsMs == 7 * 86_400_000)
        #expect(defaults.retention.rollupsMs == 400 * 86_400_000 && defaults.retention.alertsMs == 90 * 86_400_000)
        #expect(defaults.retention.maxBytes == nil && defaults.pruneIntervalMs == 3_600_000)
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let file = try workspace.write("errwatch.yaml", "retain_errors: forever\nretain_alerts: 14d\nmax_db_size: 2GiB\nprune_interval: 10m\n")
        let set = try AgentCommand.parse(["--config", file]).resolve(environment: ["ERRWATCH_RETAIN_ROLLUPS": "800d"])
        #expect(set.retention.errorsMs == nil && set.retention.alertsMs == 14 * 86_400_000 && set.retention.rollupsMs == 800 * 86_400_000)
        #expect(set.retention.maxBytes == 2 << 30 && set.pruneIntervalMs == 600_000)
        #expect(validationMessage { try AgentCommand.parse([]).resolve(environment: ["ERRWATCH_RETAIN_ERRORS": "3h"]) }
            == "Invalid retain_errors '3h' (environment ERRWATCH_RETAIN_ERRORS); give a duration of a day or more such as 30d, or forever.")
    }

    /// Logging is set like every other setting; a wrong value names what it takes.
    @Test func logFormatAndLevelAreSettings() throws {
        let configuration = try AgentCommand.parse([]).resolve(environment: ["ERRWATCH_LOG_FORMAT": "json", "ERRWATCH_LOG_LEVEL": "Warning"])
        #expect(configuration.logFormat == .json && configuration.logLevel == .warning)
        #expect(try AgentCommand.parse([]).resolve(environment: [:]).logFormat == nil)
        #expect(validationMessage { try AgentCommand.parse([]).resolve(environment: ["ERRWATCH_LOG_LEVEL": "loud"]) }
            == "Invalid log_level 'loud' (environment ERRWATCH_LOG_LEVEL); give one of trace, debug, info, notice, warning, error, critical.")
    }

    @Test func aPublicAddressNeedsATokenOrAnExplicitAllowance() throws {
        #expect(validationMessage { try AgentCommand.parse(["--listen", "0.0.0.0:8787"]).resolve(environment: [:]) }
            == "Refusing to listen on 0.0.0.0:8787 without auth_token: anyone who reaches it could read the error history; set auth_token, or pass --allow-public to accept that.")
        #expect(try AgentCommand.parse(["--listen", "0.0.0.0:8787", "--allow-public"]).resolve(environment: [:]).host == "0.0.0.0")
        #expect(try AgentCommand.parse(["--listen", "0.0.0.0:8787"]).resolve(environment: ["ERRWATCH_AUTH_TOKEN": "a-long-enough-token-123"]).port == 8787)
        #expect(try AgentCommand.parse(["--listen", "127.0.0.2:9000"]).resolve(environment: [:]).port == 9000)
    }

    @Test func badValuesNameTheirOrigin() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let file = try workspace.write("errwatch.yaml", "timeout: soon\n")
        #expect(validationMessage { try AgentCommand.parse(["--config", file]).resolve(environment: [:]) } == "Invalid timeout 'soon' (\(file) line 1); give a duration such as 60s or 5m.")
        #expect(validationMessage { try AgentCommand.parse(["--listen", "localhost"]).resolve(environment: [:]) } == "Invalid listen 'localhost' (--listen); give HOST:PORT such as 127.0.0.1:8787.")
        #expect(validationMessage { try AgentCommand.parse([]).resolve(environment: ["ERRWATCH_UPSTREAM": "ftp://x"]) } == "Invalid upstream 'ftp://x' (environment ERRWATCH_UPSTREAM); give an http or https base URL such as https://api.ofox.ai/v1.")
        #expect(validationMessage { try AgentCommand.parse(["--config", "/nonexistent/errwatch.yaml"]).resolve(environment: [:]) } == "Cannot read the configuration file '/nonexistent/errwatch.yaml'; check that it exists and is readable.")
    }
}

/// The message of the validation error `body` throws, or nil.
func validationMessage(_ body: () throws -> Any) -> String? {
    do {
        _ = try body()
        return nil
    } catch let error as ValidationError {
        return error.message
    } catch {
        return "unexpected \(error)"
    }
}

@Suite struct ListenAddressTests {
    /// A port in use is refused in one sentence naming it and the setting, before the database
    /// is created.
    @Test func aPortInUseIsSaidPlainlyAndNoDatabaseIsCreated() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        // Hold a port: a listening socket on 127.0.0.1, port chosen by the system.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, length) == 0 && listen(holder, 1) == 0 && getsockname(holder, $0, &length) == 0 }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let db = workspace.path("never.db")
        let result = await errwatch(["agent", "--listen", "127.0.0.1:\(port)", "--upstream", "http://127.0.0.1:1/v1", "--db", db],
                                    now: Timestamp.now())
        #expect(result.exitCode != 0)
        #expect(result.stderr.contains("Cannot listen on 127.0.0.1:\(port): the address is in use by another process; choose another address with --listen or ERRWATCH_LISTEN."),
                "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: db))
    }
}

@Suite struct UpstreamsConfigurationTests {
    private func configuration(_ yaml: String) throws(ErrWatchError) -> AgentConfiguration {
        var configuration = AgentConfiguration()
        try configuration.apply(yaml: yaml, path: "errwatch.yaml")
        return configuration
    }

    private func refusal(_ yaml: String) -> String {
        do {
            _ = try configuration(yaml)
            return "accepted"
        } catch {
            return error.message
        }
    }

    @Test func upstreamsTakeANameAURLAndOptionallyAPrefixAndProvider() throws {
        let loaded = try configuration("""
            upstream: https://api.openai.com/v1
            upstreams:
              - name: anthropic
                url: https://api.anthropic.com/v1/
              - name: eu
                url: https://gateway.example.eu/openai/v1
                provider: openai
                prefix: /openai-eu
            """)
        #expect(loaded.routes == [
            Upstream(name: "default", url: "https://api.openai.com/v1", provider: "openai", prefix: ""),
            Upstream(name: "anthropic", url: "https://api.anthropic.com/v1", provider: "anthropic", prefix: "/anthropic"),
            Upstream(name: "eu", url: "https://gateway.example.eu/openai/v1", provider: "openai", prefix: "/openai-eu"),
        ])
        #expect(AgentConfiguration.route("/v1/chat/completions", in: loaded.routes)! == (0, 0))
        #expect(AgentConfiguration.route("/anthropic/v1/messages", in: loaded.routes)! == (1, 10))
        #expect(AgentConfiguration.route("/openai-eu/v1/models", in: loaded.routes)! == (2, 10))
        #expect(AgentConfiguration.route("/anthropic/v2/messages", in: loaded.routes) == nil)
        #expect(AgentConfiguration.route("/api/v1/rates", in: loaded.routes) == nil)
    }

    @Test func badUpstreamsAreRefusedWithTheirLineAndReason() {
        #expect(refusal("upstreams:\n  - url: https://a.example/v1\n")
                == "An upstream (errwatch.yaml line 2) needs a name of letters, digits, '-', '_' or '.', such as anthropic.")
        #expect(refusal("upstreams:\n  - name: default\n    url: https://a.example/v1\n")
                == "The name of upstream 'default' (errwatch.yaml line 2) is taken (by another upstream, or 'default' by the upstream setting); give each its own.")
        #expect(refusal("upstreams:\n  - name: a\n    url: ftp://a.example\n")
                == "Invalid url 'ftp://a.example' of upstream 'a' (errwatch.yaml line 2); give an http or https base URL such as https://api.anthropic.com/v1.")
        #expect(refusal("upstreams:\n  - name: a\n    url: https://a.example/v1\n    prefix: /api\n")
                == "Invalid prefix '/api' of upstream 'a' (errwatch.yaml line 2); give a path such as /a (apps then call /a/v1/…), not one of the agent's own (/v1, /api, /metrics).")
        #expect(refusal("upstreams:\n  - name: a\n    url: https://a.example/v1\n    prefix: /x/../y\n").hasPrefix("Invalid prefix '/x/../y'"))
        #expect(refusal("upstreams:\n  - name: a\n    url: https://a.example/v1\n  - name: b\n    url: https://b.example/v1\n    prefix: /a\n")
                == "The prefix '/a' of upstream 'b' (errwatch.yaml line 4) is also upstream 'a''s; give each its own.")
        #expect(refusal("upstreams:\n  - name: a\n    url: https://a.example/v1\n    weight: 2\n")
                == "Unknown key 'weight' in upstream 'a' (errwatch.yaml line 2); an upstream takes name, url, provider, prefix.")
    }
}
