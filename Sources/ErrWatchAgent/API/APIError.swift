import ErrWatchCore
import Foundation
import HTTPTypes
import Hummingbird
import ErrWatchStore
import NIOCore

/// An error errwatch's own HTTP endpoints return, in the unified body the provider guide uses:
/// `{"error":{"code","message","type"}}`, with the guide's status for its type.
public struct APIError: Error, HTTPResponseError, Sendable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// The error type, as in the guide's table.
    public var type: ErrorType
    /// A code a program can match.
    public var code: String
    /// One sentence for a person.
    public var message: String
    /// Extra response headers (`retry-after`, `www-authenticate`).
    public var headers: HTTPFields

    /// An error with the given parts.
    public init(status: HTTPResponse.Status, type: ErrorType, code: String, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.headers = headers
    }

    /// 400: the request is wrong.
    public static func invalidRequest(_ code: String, _ message: String) -> APIError {
        APIError(status: .badRequest, type: .invalidRequest, code: code, message: message)
    }

    /// The unified body.
    public var body: String {
        ErrorBody(code: code, message: message, type: type).json
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
