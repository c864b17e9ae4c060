import ErrWatchTestKit
import Foundation
import Testing

/// The release binary stands alone: the Swift runtime, Foundation and Dispatch are linked in.
/// Proved where it matters — with the toolchain's libraries out of reach, in a private mount
/// namespace that covers their folder, the binary still answers `--version` and runs the demo
/// (the fake upstream, the agent proxying real calls, the database), as it would on a machine
/// with no Swift installed.
@Suite(.serialized) struct StandaloneReleaseTests {
    /// The folder the toolchain's shared Swift libraries are in (`…/usr/lib/swift/linux`).
    static func toolchainLibraries() throws -> String {
        let swift = try #require(["/opt/swift/usr/bin/swift", "/usr/bin/swift"].first { FileManager.default.isExecutableFile(atPath: $0) }
            ?? (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/swift" }
                .first { FileManager.default.isExecutableFile(atPath: $0) },
            "no swift on PATH")
        let root = URL(fileURLWithPath: swift).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("lib/swift/linux").path
    }

    @Test func theReleaseBinaryLinksNoSwiftLibrary() async throws {
        let binary = try ReleaseBinary.url()
        let (status, libraries) = try await Run.detached(try Run.find("ldd", package: "libc-bin"), [binary.path])
        #expect(status == 0, "\(libraries)")
        for name in ["libswift", "libFoundation", "libdispatch", "libBlocksRuntime", "/lib/swift/"] {
            #expect(!libraries.contains(name), "the release binary loads \(name):\n\(libraries)")
        }
    }

    @Test func theReleaseBinaryRunsWithTheToolchainOutOfReach() async throws {
        let binary = try ReleaseBinary.url()
        let hidden = try Self.toolchainLibraries()
        try #require(FileManager.default.fileExists(atPath: hidden + "/libswiftCore.so"), "no libswiftCore.so in \(hidden)")
        let directoryWorkspace = try Workspace()
        defer { directoryWorkspace.cleanup() }
        let directory = directoryWorkspace.url
        let copy = directory.appendingPathComponent("errwatch").path
        try FileManager.default.copyItem(atPath: binary.path, toPath: copy)
        // An empty tmpfs over the libraries' folder, in a mount namespace of this command alone.
        let script = """
            set -e
            mount -t tmpfs none '\(hidden)'
            test ! -e '\(hidden)/libswiftCore.so'
            '\(copy)' --version
            '\(copy)' demo --duration 3s --rate 30 --db '\(directory.path)/demo.db'
            """
        let (status, output) = try await Run.detached(try Run.find("unshare", package: "util-linux"), ["--mount", "/bin/sh", "-c", script])
        #expect(status == 0, "\(output)")
        #expect(output.contains("0.1.0"))
        #expect(output.contains("The agent recorded ") && output.contains("and dropped 0."), "\(output.suffix(600))")
        #expect(!output.contains("cannot open shared object file"))
    }
}
