import ArgumentParser
import AsyncHTTPClient
import ErrWatchAgent
import ErrWatchCore
import ErrWatchStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// Reloads the alert rules and notifiers on SIGHUP. A wrong file changes nothing: the agent
/// keeps its previous rules and logs why.
struct ReloadService: Service {
    let logger: Logger
    let reload: @Sendable () -> Void

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            reload()
        }
    }
}
