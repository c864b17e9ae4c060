/// Response headers as the classifier reads them: an ordered list of name–value pairs with
/// case-insensitive lookup, so any HTTP library's headers can be handed over as pairs.
public struct HTTPHeaders: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    /// The headers in the order received.
    public var pairs: [(name: String, value: String)] {
        storage.map { (name: $0.name, value: $0.value) }
    }
    private var storage: [Pair]
    /// `lowered` is the name in lower case, computed once: lookups happen per proxied request.
    private struct Pair: Sendable, Hashable { var name: String; var lowered: String; var value: String }

    /// Headers from `(name, value)` pairs.
    public init(_ pairs: [(String, String)] = []) {
        storage = pairs.map { Pair(name: $0.0, lowered: $0.0.lowercased(), value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// The first value of `name`, compared without regard to case.
    public subscript(name: String) -> String? {
        let lowered = name.lowercased()
        return storage.first { $0.lowered == lowered }?.value
    }
}
