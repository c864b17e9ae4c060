import Foundation

/// What errwatch reads from a request body it forwards: the `model` asked for and whether a
/// stream was asked for. Only a prefix of the body is needed (the proxy never holds a large
/// body whole); a body that is cut short still yields the fields that precede the cut.
public struct RequestFields: Sendable, Hashable {
    /// The JSON `model` field, empty when absent.
    public var model: String
    /// The JSON `stream` field.
    public var stream: Bool

    /// The fields of `prefix`, the first bytes of a JSON request body.
    public init(prefix: some Collection<UInt8>) {
        model = ""
        stream = false
        let data = Data(prefix)
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            model = (object["model"] as? String) ?? ""
            stream = (object["stream"] as? Bool) ?? false
        } else {
            let text = String(decoding: data, as: UTF8.self)
            model = Self.scan(text, key: "model") ?? ""
            stream = Self.scanLiteral(text, key: "stream") == "true"
        }
        model = String(Redactor.redact(model).prefix(OutcomeDecoder.maxNameLength))
    }

    /// The first top-level-looking `"key": "value"` string in `text`.
    static func scan(_ text: String, key: String) -> String? {
        guard let value = scanLiteral(text, key: key), value.hasPrefix("\"") else { return nil }
        var result = ""
        var escaped = false
        for character in value.dropFirst() {
            if escaped { result.append(character); escaped = false; continue }
            if character == "\\" { escaped = true; continue }
            if character == "\"" { return result }
            result.append(character)
        }
        return nil
    }

    /// The raw text after `"key":` up to the next delimiter.
    static func scanLiteral(_ text: String, key: String) -> String? {
        guard let range = text.range(of: "\"\(key)\"") else { return nil }
        let rest = text[range.upperBound...].drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard rest.first == ":" else { return nil }
        let value = rest.dropFirst().drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        if value.first == "\"" { return String(value.prefix(Endpoint.maxLength * 2)) }
        return String(value.prefix { $0 != "," && $0 != "}" && $0 != " " && $0 != "\n" })
    }
}
