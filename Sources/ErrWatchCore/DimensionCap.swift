/// Bounds the distinct values one dimension may take: the first `limit` values are kept as
/// they are, every later new value becomes ``other``, and the folds are counted. Every value a
/// client controls (an app header, a model, a path under `/v1/`, an error code) passes one, so
/// neither the series table nor `/metrics` grows without bound however many values are sent.
public struct DimensionCap: Sendable {
    /// What a value over the cap is recorded as.
    public static let other = "other"

    /// Distinct values kept before new ones fold into ``other``.
    public let limit: Int
    private var seen: Set<String> = []
    /// Values folded into ``other`` so far.
    public private(set) var folded = 0

    /// A cap of `limit` values, knowing `known` already (they count against it).
    public init(limit: Int, known: some Sequence<String> = []) {
        self.limit = limit
        for value in known where seen.count < limit { seen.insert(value) }
    }

    /// `value` if it is known or there is room for it, else ``other``.
    public mutating func admit(_ value: String) -> String {
        if value.isEmpty || seen.contains(value) { return value }
        guard seen.count < limit else {
            folded += 1
            return Self.other
        }
        seen.insert(value)
        return value
    }
}
