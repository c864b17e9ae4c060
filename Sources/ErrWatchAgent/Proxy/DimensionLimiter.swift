import ErrWatchCore
import ErrWatchStore
import Synchronization

/// The caps on what the agent records, one ``DimensionCap`` per client-controlled dimension,
/// applied to every outcome before it is counted or written (``OutcomeSink``).
final class DimensionLimiter: Sendable {
    /// Distinct values kept per dimension: generous for real use (a team has tens of apps and
    /// models, an API a few dozen routes), small enough that a flood of invented ones is harmless.
    static let limits: [Dimension: Int] = [.app: 1_000, .model: 1_000, .endpoint: 200, .type: 100, .code: 1_000]

    private struct Caps {
        var app, endpoint, model, type, code: DimensionCap
    }

    private let caps: Mutex<Caps>

    /// Caps that already count the values `known` (what the database holds).
    init(known: [Dimension: [String]] = [:]) {
        func cap(_ dimension: Dimension) -> DimensionCap {
            DimensionCap(limit: Self.limits[dimension] ?? 100, known: known[dimension] ?? [])
        }
        caps = Mutex(Caps(app: cap(.app), endpoint: cap(.endpoint), model: cap(.model), type: cap(.type), code: cap(.code)))
    }

    /// `outcome` with every dimension over its cap folded into `other`.
    func bound(_ outcome: CallOutcome) -> CallOutcome {
        var outcome = outcome
        caps.withLock { caps in
            // Assigned only when changed: an assignment cleans the text again (``RecordedText``).
            let app = caps.app.admit(outcome.app)
            if app != outcome.app { outcome.app = app }
            let endpoint = caps.endpoint.admit(outcome.endpoint)
            if endpoint != outcome.endpoint { outcome.endpoint = endpoint }
            let model = caps.model.admit(outcome.model)
            if model != outcome.model { outcome.model = model }
            if let error = outcome.error {
                let type = caps.type.admit(error.type.rawValue)
                if type != error.type.rawValue { outcome.error?.type = ErrorType(rawValue: type) }
                let code = caps.code.admit(error.code)
                if code != error.code { outcome.error?.code = code }
            }
        }
        return outcome
    }

    /// Values folded into `other`, per dimension.
    var folded: [Dimension: Int] {
        caps.withLock { caps in
            [.app: caps.app.folded, .endpoint: caps.endpoint.folded, .model: caps.model.folded, .type: caps.type.folded, .code: caps.code.folded]
        }
    }
}
