import Synchronization

/// The dimensions calls are counted under: one row of the `series` table.
struct SeriesKey: Hashable, Sendable {
    var app: String
    var endpoint: String
    var model: String
    var status: Int
    var type: String
    var code: String
}

/// Series ids already known to be in the database. Ids are never reused or deleted, so a
/// cached id stays right for the life of the file; entries are added only after the
/// transaction that created them committed.
final class SeriesCache: Sendable {
    private let ids = Mutex<[SeriesKey: Int64]>([:])
    /// Beyond this many entries the cache stops growing; lookups then go to the database.
    static let capacity = 100_000

    func lookup(_ keys: some Sequence<SeriesKey>) -> [SeriesKey: Int64] {
        ids.withLock { ids in
            var found: [SeriesKey: Int64] = [:]
            for key in keys { if let id = ids[key] { found[key] = id } }
            return found
        }
    }

    func remember(_ entries: [SeriesKey: Int64]) {
        guard !entries.isEmpty else { return }
        ids.withLock { ids in
            guard ids.count < Self.capacity else { return }
            ids.merge(entries) { old, _ in old }
        }
    }
}
