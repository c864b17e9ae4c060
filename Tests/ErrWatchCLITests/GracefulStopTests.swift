import AsyncHTTPClient
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// A built `errwatch` running as its own process, its standard error read line by line.
///
/// An agent's standard error is a pipe, so it logs JSON (`log_format` defaults to JSON off a
/// terminal): every line it writes is checked to be one JSON object with `time`, `level`,
/// `logger` and `message`, and ``exitStatus()`` reports any that is not. Every agent scenario
/// in the suite is thereby a test of the structured logs.
final class RunningBinary: @unchecked Sendable {
    // `process` and `lines` are set once in init and only read afterwards.
    let process = Process()
    let lines: AsyncStream<String>
    private let malformed = Mutex<[String]>([])
    private let checksLogs: Bool

    /// The fields of a JSON log line, as text; nil when the line is not one.
    static func fields(_ line: String) -> [String: String]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              ["time", "level", "logger", "message"].allSatisfy({ object[$0] is String }) else { return nil }
        return object.compactMapValues { $0 as? String }
    }

    /// Runs `errwatch ARGUMENTS` (the debug build unless told `binary`), through `launcher` (a
    /// program and its arguments, such as `prlimit --fsize=…`) when given, with `environment`
    /// added to a bare PATH.
    init(_ arguments: [String], binary: URL = StandaloneBinaryTests.builtBinary, launcher: [String] = [],
         environment: [String: String] = [:]) throws {
        checksLogs = arguments.first == "agent"
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { _, given in given }
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        self.lines = lines
        let handle = pipe.fileHandleForReading
        Thread {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending += chunk
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[..<newline], as: UTF8.self)
                    if self.checksLogs, Self.fields(line) == nil { self.malformed.withLock { $0.append(line) } }
                    continuation.yield(line)
                    pending.removeSubrange(...newline)
                }
            }
            continuation.finish()
        }.start()
        try process.run()
    }

    /// The port in the first log line that says where it listens, e.g. `…listening on http://127.0.0.1:41234…`.
    func listeningPort(marker: String) async -> Int? {
        for await line in lines where line.contains(marker) {
            guard let range = line.range(of: "http://127.0.0.1:") else { continue }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }

    func terminate() { process.terminate() }

    /// Waits for the process to exit, off the cooperative pool; an agent's log lines must all
    /// have been JSON objects.
    func exitStatus() async -> Int32 {
        let status = await Run.exit(of: process)
        // A configuration refused at start (64) is said as every command says it, before logging begins.
        let malformed = status == 64 ? [] : self.malformed.withLock { $0 }
        #expect(malformed.isEmpty, "log lines that are not JSON objects with time, level, logger and message: \(malformed.prefix(5))")
        return status
    }
}

@Suite struct GracefulStopTests {
    @Test func sigtermWritesEveryOutcomeOfAnsweredRequests() async throws {
        let directoryWorkspace = try Workspace()
        defer { directoryWorkspace.cleanup() }
        let directory = directoryWorkspace.url
        let database = directory.appendingPathComponent("agent.db").path

        let mock = try RunningBinary(["mock-upstream", "--listen", "127.0.0.1:0", "--mix", "429=20%,503=10%"])
        defer { mock.terminate() }
        let upstreamPort = try #require(await mock.listeningPort(marker: "mock upstream listening"))
        let agent = try RunningBinary(["agent", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:\(upstreamPort)/v1", "--db", database])
        let agentPort = try #require(await agent.listeningPort(marker: "errwatch agent listening"))

        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var answered = 0
        var errors = 0
        for index in 0..<200 {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(agentPort)/v1/chat/completions")
            request.method = .POST
            request.headers.add(name: "authorization", value: "Bearer sk-test-0123456789abcdef")
            request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o","n":\#(index)}"#))
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            answered += 1
            if response.status.code >= 400 { errors += 1 }
        }
        try await client.shutdown()
        // At once: the last outcomes are still in the writer's queue, not yet in the file.
        agent.terminate()
        #expect(await agent.exitStatus() == 0)

        // The file alone holds everything: no WAL beside it, and a copy of it is whole.
        #expect(!FileManager.default.fileExists(atPath: database + "-wal"), "a -wal file was left beside the database")
        let copy = directory.appendingPathComponent("copy.db").path
        try FileManager.default.copyItem(atPath: database, toPath: copy)
        let copied = try Store.open(path: copy).rates(Filter(since: 0, until: Int64.max / 2), by: [])
        #expect(copied.first?.calls == Int64(answered))

        let store = try Store.open(path: database)
        let filter = Filter(since: 0, until: Int64.max / 2)
        let rates = try store.rates(filter, by: [])
        #expect(rates[0].calls == Int64(answered))
        #expect(rates[0].errors == Int64(errors))
        #expect(errors > 0)
    }
}
