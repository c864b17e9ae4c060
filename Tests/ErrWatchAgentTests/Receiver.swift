@testable import ErrWatchAgent
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A notification receiver on a real socket (127.0.0.1, port 0): answers each POST with the
/// next status of its script (the last one repeats), or never answers when `hang` is set, and
/// hands every body it got to `bodies`.
final class Receiver: Sendable {
    let bodies: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let script: Mutex<[Int]>
    private let hang: Bool

    init(statuses: [Int] = [200], hang: Bool = false) {
        (bodies, continuation) = AsyncStream.makeStream()
        script = Mutex(statuses)
        self.hang = hang
    }

    /// Runs `body` with the receiver's URL (`http://127.0.0.1:PORT`).
    func serve(_ body: (String) async throws -> Void) async throws {
        var logger = Logger(label: "receiver")
        logger.logLevel = .critical
        let router = Router()
        router.post("/**") { request, _ -> Response in
            let text = String(buffer: try await request.body.collect(upTo: 1 << 20))
            self.continuation.yield(text)
            if self.hang {
                try await Task.sleep(for: .seconds(3_600))
            }
            let status = self.script.withLock { script in script.count > 1 ? script.removeFirst() : script[0] }
            return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        let (ports, port) = AsyncStream.makeStream(of: Int.self)
        let app = makeApplication(router: router, host: "127.0.0.1", port: 0, name: "receiver", logger: logger) { port.yield($0) }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger).withGracefulShutdownTimeout(.seconds(1)))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let bound = await iterator.next()!
            do {
                try await body("http://127.0.0.1:\(bound)")
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

extension ServiceGroupConfiguration {
    func withGracefulShutdownTimeout(_ timeout: Duration) -> ServiceGroupConfiguration {
        var configuration = self
        configuration.maximumGracefulShutdownDuration = timeout
        return configuration
    }
}
