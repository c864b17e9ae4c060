import Foundation

/// nginx as the proxy errwatch is measured against: Debian's nginx, started by the benchmark
/// with a generated configuration in front of the same upstream — keep-alive upstream
/// connections, `proxy_buffering off` (streams pass as they come, as errwatch passes them),
/// and for an https upstream verification against the same CA, SNI and TLS session reuse.
final class NginxPeer {
    let process = Process()
    let port: Int

    /// nginx on a free port of 127.0.0.1, forwarding to `upstreamPort` (over TLS, trusting
    /// `caFile` and naming `localhost`, when `caFile` is given).
    init(nginx: String, directory: URL, upstreamPort: Int, caFile: String?) throws {
        port = try FreePort.find()
        let prefix = directory.appendingPathComponent("nginx")
        try FileManager.default.createDirectory(at: prefix, withIntermediateDirectories: true)
        let tls = caFile.map { ca in
            """
                  proxy_ssl_server_name on;
                  proxy_ssl_name localhost;
                  proxy_ssl_verify on;
                  proxy_ssl_trusted_certificate \(ca);
                  proxy_ssl_session_reuse on;

            """
        } ?? ""
        let configuration = """
            worker_processes auto;
            pid \(prefix.path)/nginx.pid;
            error_log \(prefix.path)/error.log warn;
            worker_rlimit_nofile 65536;
            events { worker_connections 16384; }
            http {
              access_log off;
              client_body_temp_path \(prefix.path)/body;
              proxy_temp_path \(prefix.path)/proxy;
              upstream upstream { server 127.0.0.1:\(upstreamPort); keepalive 128; }
              server {
                listen 127.0.0.1:\(port) backlog=4096;
                location / {
                  proxy_pass \(caFile == nil ? "http" : "https")://upstream;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_buffering off;
                  proxy_read_timeout 300s;
            \(tls)    }
              }
            }

            """
        let file = prefix.appendingPathComponent("nginx.conf")
        try Data(configuration.utf8).write(to: file)
        process.executableURL = URL(fileURLWithPath: nginx)
        process.arguments = ["-c", file.path, "-p", prefix.path, "-e", prefix.appendingPathComponent("error.log").path, "-g", "daemon off;"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready when it accepts connections.
        let deadline = ContinuousClock.now + .seconds(10)
        while !FreePort.accepts(port) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                let log = (try? String(contentsOf: prefix.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""
                throw BenchFailure("nginx did not start:\n\(log)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// CPU time of the master and its workers, in seconds.
    func cpuSeconds() -> Double {
        CPUTime.seconds(of: [process.processIdentifier] + CPUTime.children(of: process.processIdentifier))
    }

    /// The workers' resident sets (VmRSS) added up, in KiB.
    func rssKiB() -> Int {
        CPUTime.children(of: process.processIdentifier).reduce(0) { total, pid in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
            else { return total }
            return total + (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0)
        }
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// Ports on 127.0.0.1 for the processes a benchmark starts.
enum FreePort {
    /// A port nothing listens on now (bound to port 0, read, closed).
    static func find() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchFailure("Cannot open a socket to find a free port.") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw BenchFailure("Cannot bind a socket to find a free port.") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts connections on `port`.
    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
