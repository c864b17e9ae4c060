import Synchronization

import ErrWatchCore
import GRDB

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

extension SeriesDimensions {
    /// The `series` table's dimension columns, in the order ``init(_:at:)`` reads them,
    /// qualified by `alias` when given.
    static func columns(of alias: String?) -> String {
        let prefix = alias.map { $0 + "." } ?? ""
        return ["app", "endpoint", "model", "upstream", "provider", "host", "status", "type", "code"].map { prefix + $0 }.joined(separator: ", ")
    }

    /// How many columns ``columns(of:)`` names.
    static let columnCount = 9

    /// The series in `row`'s columns from `index` on, as ``columns(of:)`` selects them.
    init(_ row: Row, at index: Int) {
        self.init(app: row[index], endpoint: row[index + 1], model: row[index + 2], upstream: row[index + 3], provider: row[index + 4],
                  host: row[index + 5], status: row[index + 6], type: row[index + 7], code: row[index + 8])
    }
}
