/// A share of a whole as people write it in settings and flags: `2%` or `0.02`.
public enum Share {
    /// `"2%"` → 0.02, `"0.02"` → 0.02 (spaces around it allowed); nil for anything else or
    /// outside 0…1.
    public static func parse(_ text: some StringProtocol) -> Double? {
        let trimmed = text.trimmingSpaces()
        let value = trimmed.hasSuffix("%") ? Double(trimmed.dropLast()).map { $0 / 100 } : Double(trimmed)
        guard let value, value.isFinite, (0...1).contains(value) else { return nil }
        return value
    }
}
