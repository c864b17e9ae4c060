/// HTTP statuses as filters and rules take them: a status (`429`), a class (`5xx`), or `0` for
/// "no response". The one reading for `--status`, the API's `status=` and a rule's `where.status`.
public enum StatusPattern {
    /// The statuses `token` stands for (`5xx` is 500…599); nil when it is none of the above.
    public static func statuses(_ token: some StringProtocol) -> [Int]? {
        let token = token.trimmingSpaces()
        if token.count == 3, token.hasSuffix("xx"), let hundreds = Int(token.prefix(1)), (1...5).contains(hundreds) {
            return Array((hundreds * 100)...(hundreds * 100 + 99))
        }
        guard let value = Int(token), value == 0 || (100...999).contains(value) else { return nil }
        return [value]
    }

    /// `statuses` written back as tokens: a whole class as `5xx`, the rest one by one.
    public static func tokens(_ statuses: [Int]) -> [String] {
        let set = Set(statuses)
        var tokens: [String] = []
        var folded = Set<Int>()
        for hundreds in 1...5 where (hundreds * 100...hundreds * 100 + 99).allSatisfy(set.contains) {
            tokens.append("\(hundreds)xx")
            folded.formUnion(hundreds * 100...hundreds * 100 + 99)
        }
        return tokens + statuses.filter { !folded.contains($0) }.map(String.init)
    }

    /// What to write instead of a token that is none of them.
    public static let advice = "give HTTP statuses such as 429 or 5xx, or 0 for no response"
}
