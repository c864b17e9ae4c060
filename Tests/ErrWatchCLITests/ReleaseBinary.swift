import Foundation
import Testing

/// The release build of `errwatch`, which the durability tests run as users would: README's
/// test command builds it before `swift test`.
enum ReleaseBinary {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `.build/release/errwatch`, provided it is newer than every source file; a missing or
    /// stale build fails the test that needs it, saying what to run.
    static func url() throws -> URL {
        let binary = packageRoot.appendingPathComponent(".build/release/errwatch")
        let attributes = try? FileManager.default.attributesOfItem(atPath: binary.path)
        let built = try #require(attributes?[.modificationDate] as? Date,
                                 "no release build at \(binary.path); run 'swift build -c release' first (README: Tests)")
        let sources = FileManager.default.enumerator(at: packageRoot.appendingPathComponent("Sources"), includingPropertiesForKeys: [.contentModificationDateKey])
        let newest = (sources?.allObjects as? [URL] ?? [])
            .compactMap { try? $0.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate }
            .max() ?? .distantPast
        try #require(built >= newest, "the release build at \(binary.path) is older than the sources; run 'swift build -c release' first (README: Tests)")
        return binary
    }
}
