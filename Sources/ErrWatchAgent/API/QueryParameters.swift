import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// A query string checked against the parameters a route takes, so a misspelt parameter is
/// an error that names it rather than a filter silently not applied.
struct QueryParameters {
    static let filterNames = ["since", "until", "app", "endpoint", "model", "upstream", "provider", "host", "status", "type", "code", "fault"]
    private let values: [String: String]

    init(_ request: Request, allowed: [String]) throws {
        var values: [String: String] = [:]
        for (key, value) in request.uri.queryParameters {
            let name = String(key)
            guard allowed.contains(name) else {
                throw APIError.invalidRequest("unknown_parameter",
                    "Unknown query parameter '\(name)'; this route takes: \(allowed.joined(separator: ", ")).")
            }
            guard values[name] == nil else {
                throw APIError.invalidRequest("invalid_parameter", "Query parameter '\(name)' is given twice; give it once, with a comma list for several values.")
            }
            values[name] = String(value)
        }
        self.values = values
    }

    func string(_ name: String) throws -> String? { values[name] }

    func filter(now: Int64) throws -> Filter {
        do throws(ErrWatchError) {
            return try filterParameters.filter(now: now, prefix: "")
        } catch {
            throw APIError.invalidRequest("invalid_parameter", error.message)
        }
    }

    /// The filters as given, not yet checked.
    var filterParameters: FilterParameters {
        var parameters = FilterParameters()
        parameters.since = values["since"]
        parameters.until = values["until"]
        parameters.app = values["app"]
        parameters.endpoint = values["endpoint"]
        parameters.model = values["model"]
        parameters.upstream = values["upstream"]
        parameters.provider = values["provider"]
        parameters.host = values["host"]
        parameters.status = values["status"]
        parameters.type = values["type"]
        parameters.code = values["code"]
        parameters.fault = values["fault"]
        parameters.retryable = values["retryable"]
        parameters.grep = values["grep"]
        return parameters
    }

    func integer(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = values[name] else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.invalidRequest("invalid_parameter", "Invalid \(name) '\(text)'; give a number from \(range.lowerBound) to \(range.upperBound).")
        }
        return number
    }

    func duration(_ name: String, default text: String) throws -> Int64 {
        let given = values[name] ?? text
        guard let milliseconds = DurationText.milliseconds(given), milliseconds > 0 else {
            throw APIError.invalidRequest("invalid_parameter", "Invalid \(name) '\(given)'; write it like 30s, 5m, 1h, 7d or 1h30m.")
        }
        return milliseconds
    }

    func dimensions() throws -> [ErrWatchCore.Dimension] {
        do throws(ErrWatchError) {
            return try ErrWatchCore.Dimension.parseList(values["by"] ?? "")
        } catch {
            throw APIError.invalidRequest("invalid_parameter", error.message)
        }
    }
}
