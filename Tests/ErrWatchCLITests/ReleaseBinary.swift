import Foundation
import Testing

/// The release build of `errwatch`, which the durability tests run as users would: README's
/// test command builds it before `swift test`.
enum ReleaseBinary {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `.build/release/errwatch`, provided the release build is newer than every source file;
    /// a missing or stale build fails the test that needs it, saying what to run.
    static func url() throws -> URL {
        let release = packageRoot.appendingPathComponent(".build/release").resolvingSymlinksInPath()
        let binary = release.appendingPathComponent("errwatch")
        let modified = { (url: URL) in try? url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate }
        try #require(modified(binary) != nil, "no release build at \(binary.path); run 'swift build -c release --static-swift-stdlib -Xlinker -s' first (README: Tests)")
        // A module compiled again to the same objects is not linked again: its build folder
        // (`.build/release/NAME.build`) says when it was last compiled.
        let products = (try? FileManager.default.contentsOfDirectory(at: release, includingPropertiesForKeys: [.contentModificationDateKey])) ?? []
        let built = ([binary] + products.filter { $0.pathExtension == "build" }).compactMap(modified).max() ?? .distantPast
        let sources = FileManager.default.enumerator(at: packageRoot.appendingPathComponent("Sources"), includingPropertiesForKeys: [.contentModificationDateKey])
        let newest = (sources?.allObjects as? [URL] ?? [])
            .compactMap { try? $0.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate }
            .max() ?? .distantPast
        try #require(built >= newest, "the release build at \(binary.path) is older than the sources; run 'swift build -c release --static-swift-stdlib -Xlinker -s' first (README: Tests)")
        return binary
    }
}
