import Synchronization

import ErrWatchCore

/// Series ids already known to be in the database. Ids are never reused or deleted, so a
/// cached id stays right for the life of the file; entries are added only after the
/// transaction that created them committed.
final class SeriesCache: Sendable {
    private let ids = Mutex<[SeriesDimensions: Int64]>([:])
    /// Beyond this many entries the cache stops growing; lookups then go to the database.
    static let capacity = 100_000

    /// The cached ids among `keys`, and the keys not cached.
    func lookup(_ keys: some Sequence<SeriesDimensions>) -> (found: [SeriesDimensions: Int64], missing: [SeriesDimensions]) {
        ids.withLock { ids in
            var found: [SeriesDimensions: Int64] = Dictionary(minimumCapacity: 256)
            var missing: [SeriesDimensions] = []
            for key in keys {
                if let id = ids[key] { found[key] = id } else { missing.append(key) }
            }
            return (found, missing)
        }
    }

    func remember(_ entries: [SeriesDimensions: Int64]) {
        guard !entries.isEmpty else { return }
        ids.withLock { ids in
            guard ids.count < Self.capacity else { return }
            ids.merge(entries) { old, _ in old }
        }
    }
}
