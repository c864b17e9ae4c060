import ErrWatchCore
import GRDB

extension Store {
    /// The distinct values each text dimension has in the series table, at most `limit` each:
    /// what a restarted agent already knows, so that its caps count them.
    public func knownValues(limit: Int) throws -> [Dimension: [String]] {
        try writer.read { db in
            var known: [Dimension: [String]] = [:]
            for dimension in [Dimension.app, .endpoint, .model, .type, .code] {
                known[dimension] = try String.fetchAll(
                    db, sql: "SELECT DISTINCT \(dimension.rawValue) FROM series LIMIT ?", arguments: [limit])
            }
            return known
        }
    }
}
