import Foundation

/// Runs a program to its end, its standard output and error read together.
public enum Run {
    /// `program` with `arguments`, in `directory` (the current one when nil), with exactly
    /// `environment` and `input` on its standard input; its exit status and everything it printed.
    public static func program(_ program: String, _ arguments: [String], environment: [String: String] = ["PATH": "/usr/bin:/bin"],
                               directory: URL? = nil, input: [UInt8] = []) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = environment
        if let directory { process.currentDirectoryURL = directory }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let standardInput = Pipe()
        process.standardInput = standardInput
        try process.run()
        // Written from another thread, so that a program that prints before it has read all
        // of its input cannot fill the output pipe and stall both sides.
        let writer = Thread {
            standardInput.fileHandleForWriting.write(Data(input))
            try? standardInput.fileHandleForWriting.close()
        }
        writer.start()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// ``program(_:_:environment:directory:input:)`` on a thread of its own, so that waiting for
    /// the program never holds a thread of the cooperative pool the rest of the suite runs on.
    public static func detached(_ program: String, _ arguments: [String], environment: [String: String] = ["PATH": "/usr/bin:/bin"],
                                input: [UInt8] = []) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Run.program(program, arguments, environment: environment, input: input) })
            }
        }
    }

    /// A program a test needs, found on `PATH` (then in /usr/sbin and /sbin, where Debian puts
    /// some); when it is missing, an error in one sentence naming the Debian package that has
    /// it and `bash .ci/run`, which installs everything the suite uses.
    public static func find(_ name: String, package: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let folders = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        if let found = folders.map({ "\($0)/\(name)" }).first(where: FileManager.default.isExecutableFile(atPath:)) {
            return found
        }
        throw MissingProgram(description: "This test needs \(name), which is not on PATH: install the Debian package \(package) "
                             + "(apt-get install \(package)), or run bash .ci/run, which installs everything the tests use.")
    }

    /// A program a test needs is not installed.
    public struct MissingProgram: Error, CustomStringConvertible {
        public let description: String
    }
}
