/// Sizes as people write them in configuration: `32MiB`, `8MB`, `512KiB`, `1048576`.
public enum ByteSize {
    private static let units: [(String, Int64)] = [
        ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000),
        ("kB", 1_000), ("B", 1),
    ]

    /// The bytes `text` stands for, or nil.
    public static func bytes(_ text: String) -> Int64? {
        let trimmed = String(text.trimmingSpaces())
        if let plain = Int64(trimmed), plain >= 0 { return plain }
        for (suffix, size) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count).trimmingSpaces()
            guard let value = Double(number), value >= 0, value * Double(size) < 9e15 else { return nil }
            return Int64(value * Double(size))
        }
        return nil
    }

    /// The shortest exact spelling in binary units: 33554432 → `32MiB`.
    public static func format(_ bytes: Int64) -> String {
        for (suffix, size) in units.prefix(3) where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(suffix)"
        }
        return "\(bytes)B"
    }
}
