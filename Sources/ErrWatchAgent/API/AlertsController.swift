import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Hummingbird

/// `GET /api/v1/alerts` (alerts as they stand) and `GET /api/v1/alerts/history` (what
/// happened to them), with the JSON of `errwatch alerts list` and `alerts history`.
struct AlertsController<Context: RequestContext>: Sendable {
    let store: Store
    let alerts: AlertService
    let now: @Sendable () -> Int64

    func addRoutes(to group: RouterGroup<Context>) {
        group.get("alerts") { request, _ in try await list(request) }
        group.get("alerts/history") { request, _ in try await history(request) }
    }

    func list(_ request: Request) async throws -> Response {
        let query = try QueryParameters(request, allowed: ["state"])
        let phases = try Self.phases(query.string("state"))
        let states = try await offload { [store] in try store.alerts() }.filter { phases.contains($0.phase) }
        return APIController<Context>.json(status: .ok, Report.alerts(states, rules: alerts.rules).json)
    }

    func history(_ request: Request) async throws -> Response {
        let query = try QueryParameters(request, allowed: ["since", "until", "rule", "limit"])
        let filter = try query.filter(now: now())
        let limit = try query.integer("limit", default: 1_000, range: 1...100_000)
        let rule = try query.string("rule")
        let rows = try await offload { [store] in try store.alertHistory(since: filter.since, until: filter.until, rule: rule, limit: limit) }
        return APIController<Context>.json(status: .ok, Report.alertHistory(rows.map(\.event), rules: alerts.rules).json)
    }

    /// `state=firing,pending`, `active` (pending and firing), or all when absent.
    static func phases(_ text: String?) throws -> Set<AlertPhase> {
        do throws(ErrWatchError) {
            return try AlertPhase.parseList(text, name: "state")
        } catch {
            throw APIError.invalidRequest("invalid_parameter", error.message)
        }
    }
}
