import Foundation

/// Runs a program to its end, its standard output and error read together.
public enum Run {
    /// `program` with `arguments`, in `directory` (the current one when nil), with exactly
    /// `environment` and `input` on its standard input; its exit status and everything it printed.
    /// It blocks its thread until the program ends: async code uses ``detached(_:_:environment:directory:input:)``.
    @available(*, noasync, message: "blocks a thread of the cooperative pool the whole suite shares: use Run.detached")
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
                                directory: URL? = nil, input: [UInt8] = []) async throws -> (status: Int32, output: String) {
        try await onThreadOfItsOwn { try Run.program(program, arguments, environment: environment, directory: directory, input: input) }
    }

    /// The exit status of `process`, waited for on a thread of its own.
    @discardableResult
    public static func exit(of process: Process) async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread {
                process.waitUntilExit()
                continuation.resume(returning: process.terminationStatus)
            }.start()
        }
    }

    /// `body`, then `process` stopped with `signal` and waited for off the cooperative pool,
    /// whether `body` returned or threw (a `defer` could only wait by blocking a pool thread).
    public static func stopping<T>(_ process: Process, with signal: Int32 = SIGTERM, after body: () async throws -> T) async throws -> T {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        kill(process.processIdentifier, signal)
        await exit(of: process)
        return try result.get()
    }

    /// `work`, which blocks (waits for a program, reads a pipe to its end), on a new thread: the
    /// cooperative pool has one thread per core (two here), and a test that blocks one of them
    /// stalls every other test's tasks, the ones that measure time included.
    public static func onThreadOfItsOwn<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            Thread { continuation.resume(with: Result { try work() }) }.start()
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
