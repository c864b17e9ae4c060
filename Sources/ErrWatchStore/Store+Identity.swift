import ErrWatchCore
import GRDB

extension Store {
    /// Which database this is: an id made once that travels with the file (a later copy of the
    /// same file has it too), and the host name its agent records under (empty until an agent
    /// has run on it).
    public struct Identity: Sendable, Hashable {
        public var id: String
        public var host: String
    }

    /// This database's identity.
    public func identity() throws -> Identity {
        try writer.read { db in try Self.identity(db) }
    }

    static func identity(_ db: Database) throws -> Identity {
        guard let row = try Row.fetchOne(db, sql: "SELECT id, host FROM store_identity") else {
            throw ErrWatchError(.database, "The database has no identity row (store_identity); it was not made by errwatch.")
        }
        return Identity(id: row[0], host: row[1])
    }

    /// Notes that the agent recording into this database runs as ``hostName``: what
    /// `errwatch merge` names the rows recorded before hosts were (schema version 10).
    public func claimIdentity() throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE store_identity SET host = ? WHERE host <> ?", arguments: [hostName, hostName])
        }
    }
}
