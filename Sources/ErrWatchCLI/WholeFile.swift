import Foundation

/// Writes a file whole or not at all: under a temporary name beside it, renamed over `path`
/// once complete, so a failed write never leaves a half file (`export --output`, `report --output`).
func writeWholeFile(_ path: String, _ body: (FileHandle) throws -> Void) throws {
    let target = URL(fileURLWithPath: path)
    let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
    guard FileManager.default.createFile(atPath: temporary.path, contents: nil), let handle = FileHandle(forWritingAtPath: temporary.path) else {
        throw ValidationErrorText("Cannot write to \(target.deletingLastPathComponent().path); check that the folder exists and is writable.")
    }
    do {
        try body(handle)
        try handle.synchronize()
        try handle.close()
        guard rename(temporary.path, target.path) == 0 else {
            throw ValidationErrorText("Cannot rename the finished file to \(path): \(String(cString: strerror(errno))).")
        }
    } catch {
        try? handle.close()
        try? FileManager.default.removeItem(at: temporary)
        throw error
    }
}

/// An error with a message, for failures that are neither bad input nor the store's.
struct ValidationErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
