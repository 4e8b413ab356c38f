import BonsaiPruning
import BonsaiStore
import Foundation
import Logging

/// Why a run stopped early, decided by the pool (the pipeline only sees a cancelled flag).
enum StopReason: Sendable {
    case none, cancelRequested, draining, leaseLost
}

/// Runs one leased job to its end on the calling (worker) thread: loads data and model, runs the
/// pipeline with a store-backed snapshot store (resuming from the last snapshot of an earlier
/// attempt), writes the artifacts and records the outcome — all writes under the lease.
struct JobExecution {
    let store: any JobStore
    let layout: DataLayout
    let config: JobsConfig
    let datasets: DataDirectory?
    let logger: Logger

    func run(_ lease: Lease, flag: CancellationFlag, stopReason: () -> StopReason) {
        let snapshots = JobSnapshotStore(store: store, layout: layout, lease: lease)
        var recorder: ProgressRecorder?
        do {
            let submitted = try SubmittedSpec.parse(Data(lease.job.spec.utf8))
            let spec = submitted.spec
            Engine.setThreads(spec.threads ?? config.threadsPerJob)
            let (model, data) = try PipelineRunner.prepare(spec, directory: datasets,
                                                           resolve: Uploads.resolver(store: store, layout: layout, tenant: lease.job.tenant))
            let method = try spec.method()
            let planContext = try PipelineContext(model: model, data: data, spec: spec, prunable: method.prunableSet)
            let planned = method.plan(planContext).reduce(0) { $0 + $1.steps }
            let rec = ProgressRecorder(store: store, lease: lease, config: config, flag: flag, snapshots: snapshots, plannedSteps: planned)
            recorder = rec
            let result = try PipelineRunner.run(spec: spec, model: model, data: data, store: snapshots, cancellation: flag,
                                                events: rec.handle)
            rec.flush()
            if let failure = rec.failure { throw failure }
            let report = try PruningReport.make(model: model, result: result, spec: spec, data: data)
            try ArtifactPublisher(store: store, layout: layout).publish(lease, model: model, result: result, report: report, spec: spec,
                                                                        resultJSON: Self.resultJSON(report: report, phases: result.phases))
            logger.info("job succeeded", metadata: ["job": "\(lease.job.id)", "test_accuracy": "\(report.testAccuracy)"])
        } catch {
            recorder?.flush()
            finish(lease, error: recorder?.failure ?? error, reason: stopReason())
        }
    }

    /// Records how a run that threw ended: cancelled, given back (drain), retried or failed.
    private func finish(_ lease: Lease, error: Error, reason: StopReason) {
        let id = lease.job.id
        do {
            if case StoreError.leaseLost = error {
                logger.warning("lease lost; abandoning the run", metadata: ["job": "\(id)"])
                return
            }
            if case TrainingError.cancelled = error {
                switch reason {
                case .cancelRequested: try store.cancelled(lease); logger.info("job cancelled", metadata: ["job": "\(id)"])
                case .draining: try store.release(lease); logger.info("job re-queued for shutdown", metadata: ["job": "\(id)"])
                case .leaseLost: return
                case .none: try store.fail(lease, error: "stopped unexpectedly", retryable: true, backoff: backoff(lease))
                }
                return
            }
            if StoreHealth.isDiskFault(error) { return giveBackAfterDiskFault(lease, error: error) }
            let deterministic = Self.isDeterministic(error)
            let status = try store.fail(lease, error: String(describing: error), retryable: !deterministic, backoff: backoff(lease))
            logger.warning("job attempt failed", metadata: ["job": "\(id)", "error": "\(error)", "status": "\(status.rawValue)"])
        } catch {
            logger.error("cannot record the end of a job", metadata: ["job": "\(id)", "error": "\(error)"])
        }
    }

    /// A full, read-only or failing disk is the machine's fault, not the job's: the job goes back to
    /// the queue with its attempt refunded and a delay (so a worker does not spin on it), instead of
    /// burning its attempts and failing for good. While the disk refuses the store's writes too, the
    /// give-back is retried (the heartbeat keeps renewing the lease meanwhile) until it lands, the
    /// lease is lost to another worker, or several lease periods pass.
    private func giveBackAfterDiskFault(_ lease: Lease, error: Error) {
        let id = lease.job.id, delay = max(1, config.retryBackoffSeconds)
        logger.warning("disk fault; giving the job back", metadata: ["job": "\(id)", "error": "\(error)", "retry_after": "\(delay)"])
        let deadline = Date().addingTimeInterval(10 * config.leaseSeconds)
        while Date() < deadline {
            do {
                try store.deferAfterInfrastructureFault(lease, reason: "data directory fault: \(error)", retryAfter: delay)
                return
            } catch StoreError.leaseLost {
                return
            } catch {
                Thread.sleep(forTimeInterval: min(1, config.heartbeatSeconds))
            }
        }
        logger.error("cannot give the job back; its lease will expire", metadata: ["job": "\(id)"])
    }

    private func backoff(_ lease: Lease) -> Double {
        config.retryBackoffSeconds * pow(2, Double(max(0, lease.job.attempts - 1)))
    }

    /// Failures that would happen again on retry: bad specs and settings, divergence, no data.
    static func isDeterministic(_ error: Error) -> Bool {
        switch error {
        case is PruningError: return true
        case let e as TrainingError:
            if case .cancelled = e { return false }
            return true
        case is ModelZooError, is OptimizerError, is DataError: return true
        default: return false
        }
    }

    /// The job's `result`: fractions in [0, 1] and parameter counts.
    static func resultJSON(report: PruningReport, phases: [String]) throws -> String {
        let object: [String: Any] = [
            "test_accuracy": report.testAccuracy, "test_loss": report.testLoss.isFinite ? report.testLoss : NSNull(),
            "sparsity": report.prunable.sparsity, "model_sparsity": report.model.sparsity,
            "parameters": report.model.parameters, "nonzero_parameters": report.model.nonzeros,
            "prunable_parameters": report.prunable.parameters, "prunable_nonzeros": report.prunable.nonzeros,
            "mean_instability": report.meanInstability.isFinite ? report.meanInstability : NSNull(),
            "method": report.method, "architecture": report.architecture, "phases": phases,
        ]
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}
