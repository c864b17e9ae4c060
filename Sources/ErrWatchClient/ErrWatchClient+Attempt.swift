import AsyncHTTPClient
import ErrWatchCore
import NIOCore
import NIOHTTP1

extension ErrWatchClient {
    /// One attempt's request: the API key, the attempt number as the OpenAI SDKs send it, the
    /// caller's headers, and a JSON body.
    func makeRequest(method: HTTPMethod, path: String, body: [UInt8]?, headers: [(String, String)], attempt: Int) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "x-stainless-retry-count", value: String(attempt))
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    /// An attempt that got no response: a timeout when time ran out, else a connection failure.
    func transportError(_ error: any Error, timeout: Duration) -> CallError {
        let timedOut: Bool
        switch error {
        case is AttemptTimedOut: timedOut = true
        case let error as HTTPClientError: timedOut = error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        default: timedOut = false
        }
        return timedOut
            ? Classifier.timeout(message: "No response within \(timeout).")
            : Classifier.connectionFailure(message: "Could not reach \(baseURL): \(error).")
    }
}
