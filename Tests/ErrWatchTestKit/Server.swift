import Logging
import ServiceLifecycle

/// Runs the services `make` builds (given the callback their server calls with the port it
/// bound, port 0 being the usual ask) until `body`, given that port, returns or throws; then
/// stops them gracefully and waits for them. The one way tests run a server in process.
public func withServer<T: Sendable>(
    logger: Logger,
    _ make: (@escaping @Sendable (Int) async -> Void) -> [any Service],
    _ body: (Int) async throws -> T
) async throws -> T {
    let (ports, port) = AsyncStream.makeStream(of: Int.self)
    let group = ServiceGroup(services: make { port.yield($0) }, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else { throw CancellationError() }
        let result: T
        do {
            result = try await body(bound)
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return result
    }
}
