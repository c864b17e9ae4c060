import Foundation

/// Runs a program to its end, its standard output and error read together.
public enum Run {
    /// `program` with `arguments`, in `directory` (the current one when nil), with exactly
    /// `environment`; its exit status and everything it printed.
    public static func program(_ program: String, _ arguments: [String], environment: [String: String] = ["PATH": "/usr/bin:/bin"],
                               directory: URL? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = environment
        if let directory { process.currentDirectoryURL = directory }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }
}
