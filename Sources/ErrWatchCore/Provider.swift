import Foundation

/// The provider an upstream belongs to, by its host, in the names OpenTelemetry's GenAI
/// conventions give them (`gen_ai.provider.name`): `openai`, `anthropic`, `gcp.gemini`,
/// `azure.ai.openai`, `mistral_ai`, `groq`, `deepseek`, …; another host is its own name.
public enum Provider {
    /// Host suffixes and the provider they belong to, most specific first.
    static let known: [(suffix: String, name: String)] = [
        ("api.openai.com", "openai"),
        (".openai.azure.com", "azure.ai.openai"),
        ("api.anthropic.com", "anthropic"),
        ("generativelanguage.googleapis.com", "gcp.gemini"),
        ("aiplatform.googleapis.com", "gcp.vertex_ai"),
        ("api.mistral.ai", "mistral_ai"),
        ("api.groq.com", "groq"),
        ("openrouter.ai", "openrouter"),
        ("api.deepseek.com", "deepseek"),
        ("api.x.ai", "x_ai"),
        ("api.cohere.com", "cohere"),
        ("api.perplexity.ai", "perplexity"),
        ("api.ofox.ai", "ofox"),
    ]

    /// The provider of `host` (lower-cased, without a port).
    public static func name(host: String) -> String {
        let host = host.lowercased()
        for (suffix, name) in known where host == suffix || (suffix.hasPrefix(".") && host.hasSuffix(suffix)) || host.hasSuffix("." + suffix) {
            return name
        }
        return host
    }

    /// The host of a base URL (`https://api.openai.com/v1` → `api.openai.com`), without its port.
    public static func host(ofURL url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        rest = rest.prefix { $0 != "/" && $0 != "?" }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("[") { return String(rest.dropFirst().prefix { $0 != "]" }) }
        return String(rest.prefix { $0 != ":" })
    }

    /// The GenAI operation (`gen_ai.operation.name`) of an endpoint route.
    public static func operation(endpoint: String) -> String {
        switch endpoint {
        case "chat/completions", "messages", "responses": "chat"
        case "completions": "text_completion"
        case "embeddings": "embeddings"
        default: endpoint.isEmpty ? "unknown" : endpoint
        }
    }
}
