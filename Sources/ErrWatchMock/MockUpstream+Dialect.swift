import ErrWatchCore
import Foundation

extension MockUpstream {
    /// Whose error bodies the fake answers with: the provider guide's unified body (the
    /// default), or the shapes real providers send (the corpus in `Tests/Corpus` holds the
    /// originals), so that a demo or a load test meets what production meets.
    public enum Dialect: String, Sendable, CaseIterable {
        case guide, openai, anthropic, gemini, azure, vllm

        /// The body of an error with `status`; `guide` is the guide's (type, code, message) for it.
        func body(status: Int, model: String, guide: (type: String, code: String, message: String), requestID: String) -> String {
            let name = model.isEmpty ? "gpt-4o" : model
            func json(_ object: Any) -> String {
                (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            }
            switch self {
            case .guide:
                return json(["error": ["code": guide.code, "message": guide.message, "type": guide.type]])
            case .openai:
                // OpenAI's own words: `tokens` for a rate limit, `server_error`, invalid_request_error for a bad key.
                let (type, code, message): (String, Any, String) = switch status {
                case 401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-mock***abcd. You can find your API key at https://platform.openai.com/account/api-keys.")
                case 404: ("invalid_request_error", "model_not_found", "The model `\(name)` does not exist or you do not have access to it.")
                case 429: ("tokens", "rate_limit_exceeded", "Rate limit reached for \(name) in organization org-mock on tokens per min (TPM): Limit 30000, Used 29000, Requested 1500. Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more.")
                case 500...599: ("server_error", NSNull(), "The server had an error while processing your request. Sorry about that!")
                default: ("invalid_request_error", NSNull(), guide.message)
                }
                return json(["error": ["message": message, "type": type, "param": NSNull(), "code": code]])
            case .anthropic:
                let type = switch status {
                case 400, 413, 422: "invalid_request_error"
                case 401: "authentication_error"
                case 403: "permission_error"
                case 404: "not_found_error"
                case 429: "rate_limit_error"
                case 529: "overloaded_error"
                default: "api_error"
                }
                return json(["type": "error", "error": ["type": type, "message": status == 529 ? "Overloaded" : guide.message], "request_id": requestID])
            case .gemini:
                // The OpenAI-compatible endpoint wraps its error in a list, with a status word.
                let word = switch status {
                case 400, 422: "INVALID_ARGUMENT"
                case 401: "UNAUTHENTICATED"
                case 403: "PERMISSION_DENIED"
                case 404: "NOT_FOUND"
                case 429: "RESOURCE_EXHAUSTED"
                case 503: "UNAVAILABLE"
                default: "INTERNAL"
                }
                let message = status == 429 ? "Resource has been exhausted (e.g. check quota)." : guide.message
                return json([["error": ["code": status, "message": message, "status": word]]])
            case .azure:
                if status == 429 {
                    return json(["error": ["code": "429", "message": "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-02-01 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second."]])
                }
                return json(["error": ["message": guide.message, "type": NSNull(), "param": NSNull(), "code": guide.code, "status": status]])
            case .vllm:
                let type = switch status {
                case 400, 413, 422: "BadRequestError"
                case 404: "NotFoundError"
                default: "InternalServerError"
                }
                return json(["object": "error", "message": guide.message, "type": type, "param": NSNull(), "code": status])
            }
        }
    }
}
