/// A dimension outcomes are grouped and filtered by.
public enum Dimension: String, Sendable, CaseIterable, Codable {
    case app, endpoint, model, status, type, code

    /// Parses a comma list such as `model,type`; an empty text is no grouping.
    public static func parseList(_ text: String) throws(ErrWatchError) -> [Dimension] {
        var result: [Dimension] = []
        for part in text.split(separator: ",") {
            let name = String(part.trimmingSpaces())
            guard let dimension = Dimension(rawValue: name) else {
                throw ErrWatchError(.invalidArgument,
                    "Unknown dimension '\(name)'; group by any of: \(allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            if !result.contains(dimension) { result.append(dimension) }
        }
        return result
    }
}
