import AsyncHTTPClient
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The soak: the agent (built binary, own process) under steady mixed traffic — chat
/// completions plain and streamed, embeddings, ingested events, queries — for
/// `ERRWATCH_SOAK_SECONDS` (20 in CI; `ERRWATCH_SOAK_SECONDS=600 swift test --filter SoakTests`
/// for the 10-minute run), and longer if it takes longer to make 50 requests per second of it. RSS and open file descriptors level off, nothing fails but what the
/// fake upstream is told to fail, and every outcome is accounted for (recorded + dropped = sent).
struct SoakTests {
    static let seconds = ProcessInfo.processInfo.environment["ERRWATCH_SOAK_SECONDS"].flatMap(Int.init) ?? 20

    /// Resident memory (KiB) and open descriptors of a process, from /proc.
    static func sample(_ pid: Int32) -> (rssKiB: Int, descriptors: Int)? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let rss = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]),
              let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        else { return nil }
        return (rss, descriptors)
    }

    final class Tally: Sendable {
        struct Counts { var outcomes = 0; var unexpected: [String] = []; var requests = 0 }
        let counts = Mutex(Counts())
    }

    @Test func steadyMixedTrafficLevelsOffAndEveryOutcomeIsAccountedFor() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let database = workspace.path("soak.db")
        let (mock, agent, port) = try await DurabilityTests.start(database: database, mix: "429=5%,500=1%,502=2%,503=1%")
        defer { mock.terminate() }
        let pid = agent.process.processIdentifier
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let tally = Tally()
        // At least `seconds` long and at least 50 requests a second's worth of traffic: alone
        // the soak makes well over 1,000 requests a second, but beside the rest of the suite on
        // two cores it may get a fiftieth of that, and it then runs longer rather than soaking
        // too little. The cap only ends a soak that cannot reach its traffic at all.
        let started = ContinuousClock.now
        let deadline = started + .seconds(Self.seconds), cap = started + .seconds(Self.seconds * 10)
        let minimum = Self.seconds * 50
        let soaking = Mutex(true)
        let expectedProxyStatuses: Set<UInt> = [200, 429, 500, 502, 503]

        let samples = Mutex<[(rssKiB: Int, descriptors: Int)]>([])
        async let sampling: Void = {
            while soaking.withLock({ $0 }) {
                if let sample = Self.sample(pid) { samples.withLock { $0.append(sample) } }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var number = 0
                    while case let now = ContinuousClock.now, now < cap,
                          now < deadline || tally.counts.withLock({ $0.requests }) < minimum {
                        number += 1
                        let kind = (number + worker) % 8
                        var request: HTTPClientRequest
                        var countsAsOutcome = true
                        var expected = expectedProxyStatuses
                        switch kind {
                        case 0...3:
                            request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                            request.body = .bytes(ByteBuffer(string: #"{"model":"gpt-4o","stream":\#(kind == 3),"messages":[]}"#))
                        case 4, 5:
                            request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/embeddings")
                            request.body = .bytes(ByteBuffer(string: #"{"model":"text-embedding-3-small","input":"soak"}"#))
                        case 6:
                            request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/events")
                            request.headers.add(name: "content-type", value: "application/json")
                            let ts = Timestamp.iso8601(Timestamp.now())
                            request.body = .bytes(ByteBuffer(string: #"{"ts":"\#(ts)","status":429,"app":"batch","model":"m","type":"rate_limit_error"}"#))
                            expected = [202]
                        default:
                            request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/rates?window=5m&by=model")
                            request.method = .GET
                            countsAsOutcome = false
                            expected = [200]
                        }
                        if kind != 7 { request.method = .POST }
                        request.headers.add(name: "authorization", value: "Bearer sk-test-0123456789abcdef")
                        do {
                            let response = try await client.execute(request, timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 1 << 22)
                            tally.counts.withLock { counts in
                                counts.requests += 1
                                if countsAsOutcome { counts.outcomes += 1 }
                                if !expected.contains(response.status.code) { counts.unexpected.append("\(kind): \(response.status.code)") }
                            }
                        } catch {
                            tally.counts.withLock { $0.unexpected.append("\(kind): \(error)") }
                        }
                    }
                }
            }
        }
        soaking.withLock { $0 = false }
        await sampling
        let soaked = ContinuousClock.now - started
        let (calls, dropped, integrity) = try await DurabilityTests.stop(agent, client: client, database: database)

        let counts = tally.counts.withLock { $0 }
        #expect(counts.unexpected.isEmpty, "\(counts.unexpected.count) unexpected, e.g. \(counts.unexpected.prefix(5))")
        #expect(counts.requests >= minimum, "only \(counts.requests) requests in \(soaked)")
        #expect(integrity == "ok")
        #expect(calls + Int64(dropped ?? -1) == Int64(counts.outcomes), "recorded \(calls) + dropped \(dropped ?? -1) of \(counts.outcomes) sent")

        // Level off: after a warm-up fifth, the second half peaks no higher than the first
        // (with slack for the allocator and SQLite's page cache).
        let series = samples.withLock { $0 }
        let steady = Array(series.dropFirst(series.count / 5))
        try #require(steady.count >= 8, "too few samples")
        let first = steady.prefix(steady.count / 2), second = steady.suffix(steady.count - steady.count / 2)
        let firstRSS = first.map(\.rssKiB).max()!, secondRSS = second.map(\.rssKiB).max()!
        let firstFDs = first.map(\.descriptors).max()!, secondFDs = second.map(\.descriptors).max()!
        #expect(secondRSS <= firstRSS + firstRSS / 4 + 8_192, "RSS grew from \(firstRSS) KiB to \(secondRSS) KiB")
        #expect(secondFDs <= firstFDs + 8, "descriptors grew from \(firstFDs) to \(secondFDs)")
        print("soak: \(soaked), \(counts.requests) requests, \(counts.outcomes) outcomes, RSS \(firstRSS)→\(secondRSS) KiB, fds \(firstFDs)→\(secondFDs)")
    }
}
