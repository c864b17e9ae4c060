import ErrWatchCore

/// The arithmetic every benchmark reports with: medians of repeated runs, wall-clock seconds.
public enum Measure {
    /// The median of `values`; NaN when there are none.
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Seconds taken by `body`.
    public static func seconds(_ body: () async throws -> Void) async rethrows -> Double {
        let start = ContinuousClock.now
        try await body()
        return start.duration(to: .now).secondsValue
    }
}

/// A benchmark that could not measure what it set out to (a tool's output it cannot read, a
/// process that would not start, outcomes the writer lost), with the reason.
public struct BenchFailure: Error, CustomStringConvertible {
    /// What went wrong, in one sentence.
    public let description: String
    /// A failure saying `description`.
    public init(_ description: String) { self.description = description }
}
