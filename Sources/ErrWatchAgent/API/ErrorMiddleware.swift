import ErrWatchCore
import Hummingbird
import HTTPTypes
import Foundation
import Logging

/// Turns every error errwatch's own routes throw into the unified body
/// `{"error":{"code","message","type"}}` with the guide's status: one place, so no route
/// can answer in another shape.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            return try Self.unified(error).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            return try Self.unified(HTTPError(error.status)).response(from: request, context: context)
        } catch {
            context.logger.error("Unexpected error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return try APIError(status: .internalServerError, type: .internal, code: "internal_error",
                                message: "errwatch failed to handle this request; see its log.").response(from: request, context: context)
        }
    }

    /// A framework error in the unified shape, typed by its status as in the guide's table.
    static func unified(_ error: HTTPError) -> APIError {
        let status = error.status
        let message: String
        let code: String
        switch status.code {
        case 404:
            code = "route_not_found"
            message = "No such route; errwatch serves /v1/* (the proxy), /api/v1/*, /healthz and /readyz."
        case 405:
            code = "method_not_allowed"
            message = "This route does not take that method."
        case 413:
            code = "request_body_too_large"
            message = error.body ?? "The request body is too large."
        default:
            code = status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
            message = error.body ?? status.reasonPhrase
        }
        let type: ErrorType = status.code == 404 ? .notFound : ErrorType.forStatus(Int(status.code))
        return APIError(status: status, type: type == .unknown && status.code < 500 ? .invalidRequest : type, code: code, message: message)
    }
}

/// Requires `Authorization: Bearer <token>` on errwatch's own API when a token is configured.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let presented = request.headers[.authorization].flatMap { value -> Substring? in
            value.lowercased().hasPrefix("bearer ") ? value.dropFirst(7) : nil
        }
        guard let presented, Self.constantTimeEquals(Array(presented.utf8), Array(token.utf8)) else {
            throw APIError(status: .unauthorized, type: .authentication, code: presented == nil ? "missing_token" : "invalid_token",
                           message: presented == nil
                               ? "errwatch's API needs 'Authorization: Bearer <token>' with the agent's auth_token."
                               : "The bearer token does not match the agent's auth_token.",
                           headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }

    /// Compares without returning early, so timing does not reveal how much of a guess matched.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(lhs.count == rhs.count ? 0 : 1)
        for index in 0..<max(lhs.count, rhs.count) {
            difference |= (index < lhs.count ? lhs[index] : 0) ^ (index < rhs.count ? rhs[index] : 0)
        }
        return difference == 0
    }
}
