import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import GRDB
import Logging
import Testing

/// The watchdog's judgement, with a real notify socket and a real writer over a real database:
/// pings while the writer is alive, none while one of its writes is stuck, pings again after.
struct SystemdServiceTests {
    @Test func theWatchdogStopsWhileTheWriterIsWedgedAndResumesAfter() async throws {
        let folderWorkspace = try Workspace()
        defer { folderWorkspace.cleanup() }
        let folder = folderWorkspace.url
        let store = try Store.open(path: folder.appendingPathComponent("w.db").path)
        let writer = BatchWriter(store: store)
        let socket = try DatagramSocket()
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path]))
        let service = SystemdService(notifier: notifier, watchdogInterval: .seconds(1), logger: Logger(label: "test"),
                                     writerIsResponsive: { writer.isResponsive(within: $0) })
        let writing = Task { await writer.run() }
        let pinging = Task { try await service.run() }

        /// The datagrams received over `length`.
        func received(over length: Duration) async -> [String] { await received(until: .now + length) }
        /// The datagrams received until `end`.
        func received(until end: ContinuousClock.Instant) async -> [String] {
            var messages: [String] = []
            while case let left = ContinuousClock.now.duration(to: end), left > .zero, let message = await socket.next(within: left) {
                messages.append(message)
            }
            return messages
        }
        // Pings, not their rate (the binary's test measures that): the suite runs this beside
        // load tests on two cores, where a second can pass without this task running, and its
        // first seconds beside CPU-bound tests that hold both of the pool's threads (in CI the
        // first ping came after more than 10 s). A wait for a ping ends when the ping comes, so
        // its bound is generous; only the silence while the writer is stuck is timed closely.
        /// Whether a ping comes before `end`.
        func pinged(before end: ContinuousClock.Instant) async -> Bool {
            while case let left = ContinuousClock.now.duration(to: end), left > .zero, let message = await socket.next(within: left) {
                if message == "WATCHDOG=1" { return true }
            }
            return false
        }
        #expect(await pinged(before: .now + .seconds(60)), "no ping from a healthy writer")

        // One write held for seven seconds (another connection's transaction), with an outcome queued behind it.
        let wedged = Date().timeIntervalSince1970
        let holder = Thread { try? store.writer.write { _ in Thread.sleep(forTimeInterval: 7) } }
        holder.start()
        _ = writer.submit(CallOutcome(timestamp: Timestamp.now(), app: "a", endpoint: "chat/completions", status: 200))
        // The writer is judged stuck once a write has lasted the watchdog's whole interval (2 s).
        // Pings are placed by the kernel's arrival stamps, not by when this task got to read
        // them, so a test task held up by the suite's load cannot misplace one.
        var pings: [Double] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while pings.last.map({ $0 <= 6.8 }) ?? true, case let left = ContinuousClock.now.duration(to: deadline), left > .zero,
              let datagram = await socket.nextStamped(within: left) {
            if datagram.text == "WATCHDOG=1" { pings.append(datagram.arrived - wedged) }
        }
        let whileStuck = pings.filter { $0 >= 2.5 && $0 <= 6.8 }
        #expect(whileStuck.isEmpty, "pinged while the writer was stuck, at \(whileStuck) s")
        #expect(pings.contains { $0 > 6.8 }, "no ping after the write went through")

        pinging.cancel()
        _ = try? await pinging.value
        #expect(await received(over: .milliseconds(500)).contains("STOPPING=1"))
        writing.cancel()
        await writing.value
    }
}
