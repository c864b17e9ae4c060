/// Normalises a request path to the route it belongs to, so that endpoint cardinality stays
/// bounded: the query and the API version prefix go, ids become `{id}`.
///
/// `/v1/chat/completions?x=1` → `chat/completions`; `/v1/files/file-abc123/content` →
/// `files/{id}/content`; `/v1/fine_tuning/jobs/ftjob-9Xy…` → `fine_tuning/jobs/{id}`.
public enum Endpoint {
    /// Longest route errwatch keeps, in characters.
    public static let maxLength = 200

    /// The route of `path`.
    public static func normalize(_ path: String) -> String {
        let withoutQuery = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        var segments = withoutQuery.split(separator: "/").map(String.init)
        if let first = segments.first, isVersion(first) { segments.removeFirst() }
        let route = segments.map { isIdentifier($0) ? "{id}" : $0 }.joined(separator: "/")
        return String(route.prefix(maxLength))
    }

    private static func isVersion(_ segment: String) -> Bool {
        let chars = Array(segment.utf8)
        guard chars.count >= 2, chars[0] == UInt8(ascii: "v") else { return false }
        return chars.dropFirst().allSatisfy { ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: ".") || ($0 >= 97 && $0 <= 122) }
            && chars[1] >= 48 && chars[1] <= 57
    }

    /// A segment is an id when it carries digits and is long or shaped like one (`file-…`,
    /// `batch_…`, a UUID, a number); words such as `completions` or `v2` are routes.
    private static func isIdentifier(_ segment: String) -> Bool {
        let chars = Array(segment.utf8)
        let digits = chars.filter { $0 >= 48 && $0 <= 57 }.count
        if digits == chars.count { return !chars.isEmpty }
        if digits == 0 { return false }
        let hasSeparator = chars.contains(UInt8(ascii: "-")) || chars.contains(UInt8(ascii: "_"))
        return chars.count >= 16 || (hasSeparator && chars.count >= 8) || (digits >= 3 && chars.count >= 8)
    }
}
