import BonsaiPruning
import BonsaiStore
import Foundation

/// Turns a pipeline's events into store writes for one leased job: phase, progress, ETA and the
/// latest metrics on the job row, metric history, pruning events and the activity feed.
///
/// Step metrics are batched (every `metricsFlushSteps` steps or `metricsFlushSeconds`, whichever
/// first) so a fast model does not turn into one SQLite transaction per step. On
/// `checkpointed(step:)` — emitted when a snapshot is saved and when a run resumes from one — the
/// metrics after that step are deleted: the resumed run will produce them again (Determined's
/// rule), so the history never holds two values for one step from different attempts.
///
/// Lives on the worker thread. A write refused because the lease was lost cancels the run.
final class ProgressRecorder {
    let store: any JobStore
    let lease: Lease
    let config: JobsConfig
    let flag: CancellationFlag
    let snapshots: JobSnapshotStore
    private(set) var plannedSteps: Int
    private(set) var failure: Error?

    private var completed = 0
    private var pending = ProgressUpdate()
    private var pendingSteps = 0
    private var lastFlush = Date()
    private var rateOrigin: (time: Date, step: Int)?
    private var prunedCount = 0

    init(store: any JobStore, lease: Lease, config: JobsConfig, flag: CancellationFlag, snapshots: JobSnapshotStore, plannedSteps: Int) {
        self.store = store; self.lease = lease; self.config = config; self.flag = flag
        self.snapshots = snapshots; self.plannedSteps = plannedSteps
    }

    func handle(_ event: PipelineEvent) {
        guard failure == nil else { return }
        let now = Date()
        switch event {
        case let .phaseStarted(name, steps):
            FaultPoint.reach("phase-\(name)")
            pending.phase = name
            pending.events.append((kind: "phase_started", data: ["phase": name, "planned_steps": steps]))
            flush(now)
        case let .step(phase, pipelineStep, m):
            FaultPoint.reach("step")
            completed = pipelineStep
            if rateOrigin == nil { rateOrigin = (now, max(0, pipelineStep - 1)) }
            let values: [(String, Double)] = [("loss", m.loss), ("accuracy", m.accuracy), ("learning_rate", m.learningRate),
                                              ("examples_per_second", m.examplesPerSecond)]
            pending.metrics += values.map { MetricSample(key: $0.0, step: pipelineStep, value: $0.1, time: now.timeIntervalSince1970) }
            pending.latestMetrics = Self.json(["phase": phase, "step": pipelineStep, "epoch": m.epoch, "loss": m.loss,
                                               "accuracy": m.accuracy, "learning_rate": m.learningRate,
                                               "examples_per_second": m.examplesPerSecond])
            pendingSteps += 1
            if pendingSteps >= config.metricsFlushSteps || now.timeIntervalSince(lastFlush) >= config.metricsFlushSeconds { flush(now) }
        case let .epoch(phase, m):
            var values: [(String, Double)] = [("epoch_train_loss", m.trainLoss), ("epoch_train_accuracy", m.trainAccuracy)]
            if let e = m.evaluation { values += [("eval_loss", e.loss), ("eval_accuracy", e.accuracy)] }
            pending.metrics += values.map { MetricSample(key: $0.0, step: completed, value: $0.1, time: now.timeIntervalSince1970) }
            var data: [String: any Sendable] = ["phase": phase, "epoch": m.epoch, "train_loss": m.trainLoss, "train_accuracy": m.trainAccuracy]
            if let e = m.evaluation { data["eval_accuracy"] = e.accuracy; data["eval_loss"] = e.loss }
            pending.events.append((kind: "epoch", data: data))
            flush(now)
        case let .pruned(e):
            flush(now)
            write {
                try store.recordPruningEvent(lease, ordinal: prunedCount, PruningEventRow(
                    name: e.name, phase: e.phase, step: e.step, sparsity: e.sparsity, accuracyBefore: e.accuracyBefore,
                    accuracyAfter: e.accuracyAfter, instability: e.instability))
            }
            prunedCount += 1
        case let .phaseCompleted(name):
            pending.events.append((kind: "phase_completed", data: ["phase": name]))
            flush(now)
        case let .checkpointed(_, step):
            flush(now)
            prunedCount = snapshots.eventCount
            completed = step
            rateOrigin = nil
            write { try store.rollback(lease, afterStep: step, keepEvents: prunedCount) }
        case let .message(text):
            pending.events.append((kind: "message", data: ["text": text]))
        }
    }

    /// Writes what is pending (also called once the pipeline returns).
    func flush(_ now: Date = Date()) {
        pending.completedSteps = completed
        pending.plannedSteps = plannedSteps
        if let origin = rateOrigin, completed > origin.step, now.timeIntervalSince(origin.time) > 0 {
            let rate = Double(completed - origin.step) / now.timeIntervalSince(origin.time)
            pending.etaSeconds = Double(max(0, plannedSteps - completed)) / rate
        }
        if pendingSteps > 0 {
            pending.events.append((kind: "progress", data: ["step": completed, "planned_steps": plannedSteps,
                                                            "eta_seconds": pending.etaSeconds ?? -1]))
        }
        let update = pending
        pending = ProgressUpdate()
        pendingSteps = 0
        lastFlush = now
        write { try store.record(lease, update, now: now.timeIntervalSince1970) }
    }

    private func write(_ body: () throws -> Void) {
        guard failure == nil else { return }
        do { try body() } catch {
            failure = error
            flag.cancel()
        }
    }

    static func json(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object.mapValues { value -> Any in
            if let d = value as? Double, !d.isFinite { return NSNull() }
            return value
        }, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
