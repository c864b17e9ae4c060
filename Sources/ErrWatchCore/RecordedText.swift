/// The one rule for text that errwatch records from outside (app, endpoint, model, error type,
/// code, request id, message), applied where an outcome is made, so that every way in — the
/// proxy, the ingest API, a file, the client library — stores the same thing.
///
/// - Control characters are replaced: C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F)
///   become U+FFFD in a dimension; in a message, tab, line feed and carriage return become a
///   space and the others U+FFFD. A NUL in particular never reaches SQLite, whose C strings
///   end at it, nor a terminal, a CSV file or a notification.
/// - Invalid UTF-8 and lone surrogates cannot be in a Swift `String`: the decoders errwatch
///   reads with turn them into U+FFFD before this rule sees the text.
/// - A dimension is at most ``maxDimensionLength`` characters (Unicode scalars); what is past
///   that is cut. Real model names, routes and app names are far shorter; a longer one is an
///   attack on the series table or `/metrics`, not data.
/// - Secrets are masked (``Redactor``) after cleaning, and a message is cut to its length only
///   after that, so a key at the cut is masked, not half kept.
public enum RecordedText {
    /// Longest dimension value kept, in Unicode scalars.
    public static let maxDimensionLength = 200

    /// `text` as a recorded dimension: controls replaced, cut to ``maxDimensionLength``, secrets masked.
    public static func dimension(_ text: String) -> String {
        Redactor.redact(clean(text, whitespaceToSpace: false, limit: maxDimensionLength))
    }

    /// `text` as a recorded message: controls replaced, secrets masked, then cut to `limit` scalars.
    public static func message(_ text: String, limit: Int) -> String {
        // Redaction reads past the limit by the longest key it masks, so a key cut in two is
        // still recognised; then the masked text is cut.
        let cleaned = clean(text, whitespaceToSpace: true, limit: limit + 512)
        let redacted = Redactor.redact(cleaned)
        return cut(redacted, limit)
    }

    /// Whether `scalar` is a control character the rule replaces.
    @inline(__always)
    static func isControl(_ value: UInt32) -> Bool {
        value < 0x20 || (value >= 0x7F && value <= 0x9F)
    }

    /// `text` with controls replaced and cut to `limit` scalars; `text` itself (not copied)
    /// when it needs neither, which is nearly always.
    static func clean(_ text: String, whitespaceToSpace: Bool, limit: Int) -> String {
        // This runs for every field of every outcome: decide from the UTF-8 bytes, without
        // decoding scalars. A scalar starts at every byte that is not a continuation byte; C1
        // controls are the two bytes C2 80…C2 9F.
        var needsWork = false
        var scalars = 0
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte & 0xC0 != 0x80 { scalars += 1 }
            if scalars > limit || byte < 0x20 || byte == 0x7F || (previous == 0xC2 && byte <= 0x9F && byte >= 0x80) {
                needsWork = true
                break
            }
            previous = byte
        }
        guard needsWork else { return text }
        var output = String.UnicodeScalarView()
        for scalar in text.unicodeScalars.prefix(limit) {
            if isControl(scalar.value) {
                let spaceLike = scalar == "\t" || scalar == "\n" || scalar == "\r"
                output.append(whitespaceToSpace && spaceLike ? " " : "\u{FFFD}")
            } else {
                output.append(scalar)
            }
        }
        return String(output)
    }

    private static func cut(_ text: String, _ limit: Int) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > limit else { return text }
        return String(String.UnicodeScalarView(scalars.prefix(limit)))
    }
}

/// A dimension as errwatch records it: every assignment, in an initialiser or after it, goes
/// through ``RecordedText/dimension(_:)``, so no caller can store a raw one.
@propertyWrapper
public struct RecordedDimension: Sendable, Hashable {
    private var value: String

    public init(wrappedValue: String) { value = RecordedText.dimension(wrappedValue) }

    public var wrappedValue: String {
        get { value }
        set { value = RecordedText.dimension(newValue) }
    }
}

/// ``RecordedDimension`` for a value that may be absent.
@propertyWrapper
public struct RecordedOptionalDimension: Sendable, Hashable {
    private var value: String?

    public init(wrappedValue: String?) { value = wrappedValue.map(RecordedText.dimension) }

    public var wrappedValue: String? {
        get { value }
        set { value = newValue.map(RecordedText.dimension) }
    }
}

/// A message as errwatch records it (``RecordedText/message(_:limit:)``, cut to
/// ``CallError/maxMessageLength``), on every assignment.
@propertyWrapper
public struct RecordedMessage: Sendable, Hashable {
    private var value: String

    public init(wrappedValue: String) { value = RecordedText.message(wrappedValue, limit: CallError.maxMessageLength) }

    public var wrappedValue: String {
        get { value }
        set { value = RecordedText.message(newValue, limit: CallError.maxMessageLength) }
    }
}
