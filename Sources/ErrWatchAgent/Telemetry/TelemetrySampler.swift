import AsyncAlgorithms
import ErrWatchCore
import ErrWatchStore
import ServiceLifecycle

/// Samples what the OpenTelemetry export reports as running totals and levels — the writer's
/// drops, the alerts firing — once per export interval.
struct TelemetrySampler: Service {
    let telemetry: OTLPExport
    let writer: BatchWriter
    let alerts: AlertService
    let intervalMs: Int64

    func run() async throws {
        for await _ in AsyncTimerSequence(interval: .milliseconds(intervalMs), clock: .continuous).cancelOnGracefulShutdown() {
            telemetry.sample(droppedOutcomes: writer.statistics.dropped, firingAlerts: alerts.currentAlerts.filter { $0.phase == .firing }.count)
        }
    }
}
