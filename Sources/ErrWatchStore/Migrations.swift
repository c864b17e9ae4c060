import GRDB

/// The schema migrations, one per file in `migrations/`, embedded in the binary so that a copied
/// executable needs nothing beside it. Files are applied in order, once each, and recorded in
/// the database (GRDB's `grdb_migrations` table).
public enum Migrations {
    /// Every migration errwatch knows: the file's name without `.sql`, and its SQL.
    /// A test checks this list against the `migrations/` folder.
    public static let all: [(name: String, sql: String)] = [
        ("0001_initial", String(decoding: PackageResources._001_initial_sql, as: UTF8.self)),
        ("0002_time_to_headers", String(decoding: PackageResources._002_time_to_headers_sql, as: UTF8.self)),
        ("0003_final_attempts", String(decoding: PackageResources._003_final_attempts_sql, as: UTF8.self)),
        ("0004_alerts", String(decoding: PackageResources._004_alerts_sql, as: UTF8.self)),
        ("0005_latency_histogram", String(decoding: PackageResources._005_latency_histogram_sql, as: UTF8.self)),
        ("0006_provider_fields", String(decoding: PackageResources._006_provider_fields_sql, as: UTF8.self)),
        ("0007_ingested_files", String(decoding: PackageResources._007_ingested_files_sql, as: UTF8.self)),
        ("0008_retention", String(decoding: PackageResources._008_retention_sql, as: UTF8.self)),
        ("0009_first_token", String(decoding: PackageResources._009_first_token_sql, as: UTF8.self)),
        ("0010_provider_host", String(decoding: PackageResources._010_provider_host_sql, as: UTF8.self)),
    ]

    /// A migrator that applies the first `count` migrations (all by default).
    static func migrator(upTo count: Int = all.count) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for (name, sql) in all.prefix(count) {
            migrator.registerMigration(name) { db in
                try db.execute(sql: sql)
            }
        }
        return migrator
    }
}
