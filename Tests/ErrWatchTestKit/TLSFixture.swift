import Foundation

/// Certificates for a test's TLS upstream, made once per test process with openssl: a CA, a
/// server certificate it signed for `localhost` and 127.0.0.1, and a self-signed one for the
/// same names that chains to nothing (what a man in the middle would present).
public struct TLSFixture: Sendable {
    /// The CA's certificate (PEM), what `tls_ca_file` names.
    public let caFile: String
    /// The server certificate the CA signed, and its key.
    public let certificateFile: String
    public let keyFile: String
    /// A self-signed certificate for the same names, and its key.
    public let strangerCertificateFile: String
    public let strangerKeyFile: String
    /// A certificate the CA signed for another host name (`elsewhere.example`), and its key.
    public let otherHostCertificateFile: String
    public let otherHostKeyFile: String

    /// The fixture of this test process; the first call makes it (on a thread of its own:
    /// openssl runs seven times).
    public static func shared() async throws -> TLSFixture {
        try await Run.onThreadOfItsOwn {
            try made.withLock { made in
                if let made { return made }
                let fixture = try make()
                made = fixture
                return fixture
            }
        }
    }

    private static let made = LockedValue<TLSFixture?>(nil)

    private static func make() throws -> TLSFixture {
        let openssl = try Run.find("openssl", package: "openssl")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("errwatch-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func run(_ arguments: [String]) throws {
            let result = try Run.program(openssl, arguments, directory: directory)
            guard result.status == 0 else { throw Run.MissingProgram(description: "openssl \(arguments.joined(separator: " ")) failed: \(result.output)") }
        }
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(["req", "-x509"] + key + ["-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=errwatch test CA",
                                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        func leaf(_ name: String, _ names: String) throws {
            try run(["req"] + key + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", "/CN=\(name)"])
            try Data("subjectAltName=\(names)\nextendedKeyUsage=serverAuth\n".utf8).write(to: URL(fileURLWithPath: path("\(name).ext")))
            try run(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial",
                     "-out", path("\(name).pem"), "-days", "2", "-extfile", path("\(name).ext")])
        }
        try leaf("server", "DNS:localhost,IP:127.0.0.1")
        try leaf("other", "DNS:elsewhere.example")
        try run(["req", "-x509"] + key + ["-keyout", path("stranger.key"), "-out", path("stranger.pem"), "-days", "2", "-subj", "/CN=localhost",
                                          "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        return TLSFixture(caFile: path("ca.pem"), certificateFile: path("server.pem"), keyFile: path("server.key"),
                          strangerCertificateFile: path("stranger.pem"), strangerKeyFile: path("stranger.key"),
                          otherHostCertificateFile: path("other.pem"), otherHostKeyFile: path("other.key"))
    }
}

/// A value behind a lock, shared by reference between tasks and threads of one test.
public final class LockedValue<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    public init(_ value: Value) { self.value = value }

    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
