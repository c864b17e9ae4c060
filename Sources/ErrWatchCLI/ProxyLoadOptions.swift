import ArgumentParser
import ErrWatchBench
import Foundation

/// The options `bench proxy` and `bench stream` share: how wrk loads the targets, and which.
struct ProxyLoadOptions: ParsableArguments {
    @Option(help: "wrk threads.")
    var threads = 2
    @Option(help: "Runs of each target, alternating; medians are printed.")
    var runs = 3
    @Flag(help: "Make the upstream HTTPS, as real providers are.")
    var tls = false
    @Flag(name: .customLong("without-nginx"), help: "Leave nginx out (on a machine without it).")
    var withoutNginx = false

    /// The benchmark these options and the command's own describe, its programs found.
    func benchmark(
        command: String, connections: Int, seconds: Int, paceMs: Int, stream: ProxyBenchmark.StreamLoad? = nil
    ) throws -> ProxyBenchmark {
        guard (1...16).contains(threads), (1...20).contains(runs) else {
            throw ValidationError("Give --threads from 1 to 16 and --runs from 1 to 20.")
        }
        let tools = try BenchTools(nginx: !withoutNginx, openssl: tls, command: command)
        #if DEBUG
        CommandContext.current.warn("warning: this is a debug build; measure with 'swift run -c release errwatch \(command)'.")
        #endif
        return ProxyBenchmark(
            binary: tools.binary, wrk: tools.wrk, nginx: tools.nginx, openssl: tools.openssl, connections: connections, seconds: seconds,
            threads: threads, runs: runs, paceMs: paceMs, tls: tls, stream: stream)
    }
}

/// The programs the proxy benchmarks drive, found where Debian installs them.
struct BenchTools {
    let binary: String
    let wrk: String
    let nginx: String?
    let openssl: String?

    init(nginx useNginx: Bool, openssl useOpenSSL: Bool, command: String) throws {
        func program(_ name: String, package: String) throws -> String {
            guard let path = ["/usr/bin", "/usr/local/bin", "/usr/sbin", "/usr/local/sbin"].map({ "\($0)/\(name)" })
                .first(where: FileManager.default.isExecutableFile(atPath:))
            else { throw ValidationError("\(command) needs \(name); install it with 'apt-get install \(package)'.") }
            return path
        }
        binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        wrk = try program("wrk", package: "wrk")
        nginx = useNginx ? try program("nginx", package: "nginx") : nil
        openssl = useOpenSSL ? try program("openssl", package: "openssl") : nil
    }
}
