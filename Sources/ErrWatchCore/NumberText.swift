/// Numbers as errwatch prints them, in tables, alert summaries and benchmark reports alike.
public enum NumberText {
    /// `value` rounded to exactly `digits` decimals (no decimal point for 0 digits), never
    /// `-0`; `∞` when it is not finite.
    public static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "∞" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = String(abs(rounded) < 0.5 / scale ? 0 : rounded)
        if let dot = text.firstIndex(of: ".") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
            if digits == 0 { text = String(text[..<dot]) }
        } else if digits > 0 {
            text += "." + String(repeating: "0", count: digits)
        }
        return text
    }
}
