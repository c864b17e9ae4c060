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
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("errwatch-watchdog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try Store.open(path: folder.appendingPathComponent("w.db").path)
        let writer = BatchWriter(store: store)
        let socket = try DatagramSocket()
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path]))
        let service = SystemdService(notifier: notifier, watchdogInterval: .milliseconds(200), logger: Logger(label: "test"),
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
        let healthy = await received(over: .seconds(1))
        #expect(healthy.filter { $0 == "WATCHDOG=1" }.count >= 3, "\(healthy)")

        // One write held for three seconds (another connection's transaction), with an outcome queued behind it.
        let wedged = ContinuousClock.now
        let holder = Thread { try? store.writer.write { _ in Thread.sleep(forTimeInterval: 3) } }
        holder.start()
        _ = writer.submit(CallOutcome(timestamp: Timestamp.now(), app: "a", endpoint: "chat/completions", status: 200))
        // The writer is judged stuck once a write has lasted the watchdog's whole interval (400 ms).
        _ = await received(until: wedged + .milliseconds(800))
        let silent = await received(until: wedged + .milliseconds(2_800))
        #expect(!silent.contains("WATCHDOG=1"), "pinged while the writer was stuck: \(silent)")
        let recovered = await received(over: .seconds(1.5))
        #expect(recovered.contains("WATCHDOG=1"), "no ping after the write went through: \(recovered)")

        pinging.cancel()
        _ = try? await pinging.value
        #expect(await received(over: .milliseconds(500)).contains("STOPPING=1"))
        writing.cancel()
        await writing.value
    }
}
