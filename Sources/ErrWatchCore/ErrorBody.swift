import Foundation

/// The provider guide's unified error body, `{"error":{"code","message","type"}}`: what
/// errwatch's own endpoints answer with, what the proxy answers when the upstream cannot, and
/// what the fake upstream sends. One Codable type writes it everywhere.
public struct ErrorBody: Codable, Sendable, Hashable {
    public struct Detail: Codable, Sendable, Hashable {
        public var code: String
        public var message: String
        public var type: String
    }

    public var error: Detail

    /// A body with the given parts.
    public init(code: String, message: String, type: ErrorType) {
        error = Detail(code: code, message: message, type: type.rawValue)
    }

    /// The body as JSON text, keys in a fixed order (code, message, type), slashes unescaped.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding strings cannot fail.
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
