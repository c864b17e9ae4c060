import Synchronization

/// The dimensions calls are counted under: one row of the `series` table.
struct SeriesKey: Hashable, Sendable {
    var app: String
    var endpoint: String
    var model: String
    var status: Int
    var type: String
    var code: String

    /// Mixes the status with the length and edge bytes of each string, not every byte: this
    /// runs once per recorded outcome, and full string hashing was a third of the recording
    /// cost. Keys that collide are still told apart by `==`, and the keys hashed together
    /// (one batch, one database's series) are few, so collisions cost little.
    var cheapHash: UInt64 {
        var mixed = UInt64(bitPattern: Int64(status)) &+ 0xCBF2_9CE4_8422_2325
        mixed = Self.mix(mixed, app)
        mixed = Self.mix(mixed, endpoint)
        mixed = Self.mix(mixed, model)
        mixed = Self.mix(mixed, type)
        mixed = Self.mix(mixed, code)
        return mixed
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(cheapHash)
    }

    @inline(__always)
    private static func mix(_ seed: UInt64, _ text: String) -> UInt64 {
        let bytes = text.utf8
        var value = (seed &* 0x100_0000_01B3) ^ UInt64(bytes.count)
        if let first = bytes.first, let last = bytes.last {
            value = (value &* 0x100_0000_01B3) ^ (UInt64(first) << 8 | UInt64(last))
        }
        return value
    }
}

/// Series ids already known to be in the database. Ids are never reused or deleted, so a
/// cached id stays right for the life of the file; entries are added only after the
/// transaction that created them committed.
final class SeriesCache: Sendable {
    private let ids = Mutex<[SeriesKey: Int64]>([:])
    /// Beyond this many entries the cache stops growing; lookups then go to the database.
    static let capacity = 100_000

    /// The cached ids among `keys`, and the keys not cached.
    func lookup(_ keys: some Sequence<SeriesKey>) -> (found: [SeriesKey: Int64], missing: [SeriesKey]) {
        ids.withLock { ids in
            var found: [SeriesKey: Int64] = Dictionary(minimumCapacity: 256)
            var missing: [SeriesKey] = []
            for key in keys {
                if let id = ids[key] { found[key] = id } else { missing.append(key) }
            }
            return (found, missing)
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
