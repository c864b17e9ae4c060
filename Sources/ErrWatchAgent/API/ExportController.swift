import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /api/v1/export.csv`: the CSV reports of `errwatch export`.
struct ExportController<Context: RequestContext>: Sendable {
    let store: Store
    let now: @Sendable () -> Int64

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("export.csv") { request, _ in try await export(request) }
    }

    /// `GET /api/v1/export.csv`: `errwatch export` over HTTP, streamed a page at a time. A bad
    /// parameter is a 400 before anything is sent; a failure mid-way cuts the response.
    func export(_ request: Request) async throws -> Response {
        let query = try QueryParameters(request, allowed: QueryParameters.filterNames + ["report", "by", "bucket", "retryable", "grep"])
        let parameters = query.filterParameters
        let export: CSVExport
        do {
            export = try CSVExport(store: store, report: query.string("report"), parameters: parameters, by: query.string("by"),
                                   bucket: query.string("bucket"), now: now(), prefix: "")
        } catch let error as ErrWatchError {
            throw APIError.invalidRequest("invalid_parameter", error.message)
        }
        let name = "errwatch-\(try query.string("report") ?? "export").csv"
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"\(name)\""
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            while let chunk = try await offload({ try export.nextChunk() }) {
                try await writer.write(ByteBuffer(string: chunk))
            }
            try await writer.finish(nil)
        })
    }
}
