/// A dimension outcomes are grouped and filtered by. `fault` is derived from the type (and,
/// for errwatch's own answers, the code); like status, type and code it narrows the errors,
/// never the calls. `upstream` is the agent's name for where the call went (its `upstreams:`),
/// `provider` whose API that is (``Provider``), `host` the name of the agent that recorded the
/// call: what keeps a merged fleet's history apart.
public enum Dimension: String, Sendable, CaseIterable, Codable {
    case app, endpoint, model, upstream, provider, host, status, type, code, fault

    /// The dimensions of the call itself, known before its response: they narrow the calls.
    public static let callSide: [Dimension] = [.app, .endpoint, .model, .upstream, .provider, .host]

    /// Whether the dimension describes the error rather than the call (status, type, code,
    /// fault): grouping or filtering by it narrows the errors, never the calls.
    public var isErrorSide: Bool { [.status, .type, .code, .fault].contains(self) }

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
