import Foundation
import NIOCore
import Synchronization

/// Every open client connection of one server, and the cap on how many there may be.
///
/// When a new connection would pass the cap, the connection that has sat longest without a
/// request being answered on it (idle, or still sending its head) is closed to make room, as
/// nginx reuses idle keep-alive connections when it runs short; only when every connection is
/// being answered is the new one refused. So hundreds of stalled clients cannot keep
/// `/healthz` or a real call out, and the agent never runs out of descriptors.
final class ClientConnections: Sendable {
    /// One registered connection.
    final class Entry: Sendable {
        let channel: any Channel
        /// Whether closing it loses nothing, and since when (uptime nanoseconds); written on
        /// its event loop, read when a new connection needs room.
        let evictable = Atomic<Bool>(true)
        let evictableSince = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)

        init(channel: any Channel) { self.channel = channel }

        func update(evictable now: Bool) {
            guard evictable.load(ordering: .relaxed) != now else { return }
            evictableSince.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
            evictable.store(now, ordering: .relaxed)
        }
    }

    /// The most connections open at once.
    let limit: Int
    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])
    private let counters = Mutex((evicted: 0, refused: 0, timedOut: 0))

    init(limit: Int) { self.limit = max(1, limit) }

    /// The cap for a process allowed `descriptors` open files: room kept for the database and
    /// its WAL, the listening socket, logs, notifier and health connections (64), and each
    /// client connection counted three times: itself, its upstream connection, and an idle
    /// upstream connection kept for reuse.
    static func derivedLimit(descriptors: Int) -> Int {
        max(4, (descriptors - 64) / 3)
    }

    /// The soft limit on open files of this process.
    static var descriptorLimit: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1_024 }
        return Int(min(limit.rlim_cur, 1 << 20))
    }

    var count: Int { entries.withLock { $0.count } }
    /// Connections closed to make room, refused for want of it, and closed by a timeout.
    var evicted: Int { counters.withLock { $0.evicted } }
    var refused: Int { counters.withLock { $0.refused } }
    var timedOut: Int { counters.withLock { $0.timedOut } }

    /// Registers `channel`; nil when it must be refused (every open connection is busy).
    func admit(_ channel: any Channel) -> Entry? {
        let entry = Entry(channel: channel)
        let (victim, admitted) = entries.withLock { entries -> ((any Channel)?, Bool) in
            var victim: (any Channel)?
            if entries.count >= limit {
                let oldest = entries.filter { $0.value.evictable.load(ordering: .relaxed) }
                    .min { $0.value.evictableSince.load(ordering: .relaxed) < $1.value.evictableSince.load(ordering: .relaxed) }
                guard let oldest else { return (nil, false) }
                entries[oldest.key] = nil
                victim = oldest.value.channel
            }
            entries[ObjectIdentifier(channel)] = entry
            return (victim, true)
        }
        if let victim {
            counters.withLock { $0.evicted += 1 }
            victim.close(promise: nil)
        }
        if !admitted { counters.withLock { $0.refused += 1 } }
        return admitted ? entry : nil
    }

    /// Forgets a closed connection.
    func leave(_ channel: any Channel) {
        _ = entries.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func countTimeout() { counters.withLock { $0.timedOut += 1 } }
}
