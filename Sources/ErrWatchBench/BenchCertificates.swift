import Foundation

/// A CA and a certificate it signed for `localhost` and 127.0.0.1, made with openssl for a
/// benchmark's TLS upstream; nginx and the agent both verify against the CA.
struct BenchCertificates {
    let caFile: String
    let certificateFile: String
    let keyFile: String

    init(openssl: String, directory: URL) throws {
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func run(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: openssl)
            process.arguments = arguments
            process.currentDirectoryURL = directory
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw BenchFailure("openssl \(arguments.prefix(2).joined(separator: " ")) failed.") }
        }
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(["req", "-x509"] + key + ["-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=errwatch bench CA",
                                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try run(["req"] + key + ["-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=localhost"])
        try Data("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".utf8).write(to: URL(fileURLWithPath: path("server.ext")))
        try run(["x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"), "-CAcreateserial",
                 "-out", path("server.pem"), "-days", "2", "-extfile", path("server.ext")])
        caFile = path("ca.pem")
        certificateFile = path("server.pem")
        keyFile = path("server.key")
    }
}
