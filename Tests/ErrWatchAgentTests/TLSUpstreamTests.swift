@testable import ErrWatchAgent
import ErrWatchCore
import ErrWatchMock
import ErrWatchTestKit
import Foundation
import Testing

/// An https upstream, as every real provider is: certificates verified against the system's
/// trust store and `tls_ca_file`, never skipped; a failure is a 502 saying which and why,
/// recorded as a connection error.
@Suite struct TLSUpstreamTests {
    /// What the agent answers and records for one call to an upstream presenting `mock`'s certificate.
    private func failure(serving mock: MockUpstream.Configuration, upstream: ((Int) -> String)? = nil) async throws -> (status: Int, body: String, recorded: CallOutcome?) {
        var result: (Int, String, CallOutcome?) = (0, "", nil)
        try await Harness.with(mock: mock, transport: .tls) { harness in
            let reply = try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o","messages":[]}"#)
            result = (reply.status, reply.body, try await harness.recorded().errors.first)
        }
        return result
    }

    @Test func anHTTPSUpstreamIsServedByTheFastPathOverPooledConnections() async throws {
        try await Harness.with(transport: .tls) { harness in
            // The fast path's pools hold the https target: TLS is not left to the router's client.
            #expect(harness.agent.upstreamPools.first??.target.tls == true)
            #expect(harness.agent.upstreamPools.first??.target.serverName == "localhost")
            for _ in 0..<20 {
                let reply = try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o","messages":[]}"#)
                #expect(reply.status == 200 && reply.body.hasSuffix("\"total_tokens\":21}}"))
            }
            #expect(try await harness.recorded().calls == 20)
        }
    }

    @Test func aCertificateThatChainsToNoTrustedCAIsRefused() async throws {
        let fixture = try await TLSFixture.shared()
        var mock = Harness.quietMock()
        mock.tls = try MockUpstream.tlsContext(certificate: fixture.strangerCertificateFile, key: fixture.strangerKeyFile)
        let (status, body, recorded) = try await failure(serving: mock)
        #expect(status == 502)
        #expect(body.contains(#""code":"upstream_tls_failed""#))
        #expect(body.contains("its TLS certificate is not trusted"), "\(body)")
        #expect(recorded?.error?.type == .connection && recorded?.error?.code == "upstream_tls_failed")
        #expect(recorded?.status == nil)
    }

    @Test func aCertificateForAnotherHostIsRefused() async throws {
        let fixture = try await TLSFixture.shared()
        var mock = Harness.quietMock()
        mock.tls = try MockUpstream.tlsContext(certificate: fixture.otherHostCertificateFile, key: fixture.otherHostKeyFile)
        let (status, body, recorded) = try await failure(serving: mock)
        #expect(status == 502)
        #expect(body.contains(#""code":"upstream_tls_failed""#) && body.contains("another host name"), "\(body)")
        #expect(recorded?.error?.code == "upstream_tls_failed")
    }

    @Test func aPlainHTTPPortAddressedAsHTTPSIsNamed() async throws {
        try await Harness.with { plain in
            // The plain fake, addressed with https: it answers TLS's hello with HTTP.
            let port = plain.upstreamURL.split(separator: ":").last!.split(separator: "/").first!
            try await Harness.with(transport: .tls, upstream: "https://localhost:\(port)/v1") { harness in
                let reply = try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o"}"#)
                #expect(reply.status == 502)
                #expect(reply.body.contains(#""code":"upstream_tls_failed""#) && reply.body.contains("did not answer in TLS"), "\(reply.body)")
            }
        }
    }

    @Test func withoutTheCAFileTheTestCAIsNotTrusted() async throws {
        // The same fake and certificate that every TLS proxy test trusts through tls_ca_file:
        // without the setting, only the system's trust store counts, and it does not know the CA.
        try await Harness.with(transport: .tls, configure: { $0.tlsCAFile = nil; $0.tlsCACertificates = [] }) { harness in
            let reply = try await harness.send("/v1/chat/completions", body: #"{"model":"gpt-4o"}"#)
            #expect(reply.status == 502 && reply.body.contains("not trusted"), "\(reply.body)")
        }
    }

    @Test func aCAFileThatIsNotOneIsRefusedWithTheReason() throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let notPEM = try workspace.write("ca.pem", "not a certificate\n")
        var configuration = AgentConfiguration()
        #expect(throws: ErrWatchError.self) { try configuration.set("tls_ca_file", to: notPEM, origin: "test") }
        do {
            try configuration.set("tls_ca_file", to: workspace.path("missing.pem"), origin: "ERRWATCH_TLS_CA_FILE")
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.message == "Invalid tls_ca_file '\(workspace.path("missing.pem"))' (ERRWATCH_TLS_CA_FILE); the file cannot be read.")
        }
        #expect(configuration.tlsCAFile == nil)
    }
}
