import Foundation
import GRDB

/// One metric sample (MLflow-style).
public struct MetricSample: Sendable, Equatable {
    public var key: String
    public var step: Int
    public var value: Double?
    public var time: Double
    public init(key: String, step: Int, value: Double?, time: Double) {
        self.key = key; self.step = step; self.value = value.flatMap { $0.isFinite ? $0 : nil }; self.time = time
    }
}

/// A batch of a running job's progress, written in one lease-checked transaction.
public struct ProgressUpdate: Sendable {
    public var phase: String?
    public var plannedSteps: Int?
    public var completedSteps: Int?
    public var etaSeconds: Double?
    /// JSON object of the latest step's metrics.
    public var latestMetrics: String?
    public var metrics: [MetricSample] = []
    /// Activity-feed entries: (kind, JSON object).
    public var events: [(kind: String, data: [String: any Sendable])] = []
    public init(phase: String? = nil, plannedSteps: Int? = nil, completedSteps: Int? = nil, etaSeconds: Double? = nil,
                latestMetrics: String? = nil) {
        self.phase = phase; self.plannedSteps = plannedSteps; self.completedSteps = completedSteps
        self.etaSeconds = etaSeconds; self.latestMetrics = latestMetrics
    }
    public var isEmpty: Bool {
        phase == nil && plannedSteps == nil && completedSteps == nil && latestMetrics == nil && metrics.isEmpty && events.isEmpty
    }
}

/// One pruning event row.
public struct PruningEventRow: Sendable, Equatable {
    public var name: String, phase: String, step: Int, sparsity: Double
    public var accuracyBefore: Double, accuracyAfter: Double, instability: Double
    public init(name: String, phase: String, step: Int, sparsity: Double, accuracyBefore: Double, accuracyAfter: Double, instability: Double) {
        self.name = name; self.phase = phase; self.step = step; self.sparsity = sparsity
        self.accuracyBefore = accuracyBefore; self.accuracyAfter = accuracyAfter; self.instability = instability
    }
}

/// The row of a job's newest snapshot file.
public struct SnapshotRow: Sendable, Equatable {
    public var path: String
    public var pipelineStep: Int
    public var phase: String?
    public var bytes: Int64
    public init(path: String, pipelineStep: Int, phase: String?, bytes: Int64) {
        self.path = path; self.pipelineStep = pipelineStep; self.phase = phase; self.bytes = bytes
    }
}

extension Store {
    /// Writes progress, metrics and feed entries of a running job — only while `lease` holds it.
    public func record(_ lease: Lease, _ update: ProgressUpdate, now: Double?) throws {
        let now = now ?? Store.now()
        guard !update.isEmpty else { return }
        try immediate { db in
            try Store.checkLease(db, lease)
            try db.execute(sql: """
                UPDATE jobs SET phase = COALESCE(?, phase), planned_steps = COALESCE(?, planned_steps),
                    completed_steps = COALESCE(?, completed_steps), eta_seconds = COALESCE(?, eta_seconds),
                    latest_metrics = COALESCE(?, latest_metrics),
                    progress = CASE WHEN COALESCE(?, planned_steps) > 0
                        THEN MIN(1.0, CAST(COALESCE(?, completed_steps) AS REAL) / COALESCE(?, planned_steps)) ELSE progress END,
                    updated_at = ?, version = version + 1
                WHERE seq = ?
                """, arguments: [update.phase, update.plannedSteps, update.completedSteps, update.etaSeconds, update.latestMetrics,
                                 update.plannedSteps, update.completedSteps, update.plannedSteps, now, lease.job.seq])
            let insert = try db.cachedStatement(sql: "INSERT OR REPLACE INTO metrics (job_seq, key, step, value, time) VALUES (?, ?, ?, ?, ?)")
            for m in update.metrics { try insert.execute(arguments: [lease.job.seq, m.key, m.step, m.value, m.time]) }
            for e in update.events { try Store.appendEvent(db, jobSeq: lease.job.seq, kind: e.kind, data: e.data, now: now) }
        }
    }

    /// Records a pruning event (ordinal = its index in the pipeline's event list, so replays after
    /// a resume overwrite instead of duplicating).
    public func recordPruningEvent(_ lease: Lease, ordinal: Int, _ e: PruningEventRow, now: Double?) throws {
        let now = now ?? Store.now()
        return try immediate { db in
            try Store.checkLease(db, lease)
            try db.execute(sql: """
                INSERT OR REPLACE INTO pruning_events (job_seq, ordinal, name, phase, step, sparsity, accuracy_before, accuracy_after, instability)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [lease.job.seq, ordinal, e.name, e.phase, e.step, e.sparsity, e.accuracyBefore, e.accuracyAfter, e.instability])
            try Store.appendEvent(db, jobSeq: lease.job.seq, kind: "pruned",
                                  data: ["name": e.name, "phase": e.phase, "step": e.step, "sparsity": e.sparsity,
                                         "accuracy_before": e.accuracyBefore, "accuracy_after": e.accuracyAfter], now: now)
        }
    }

    /// Drops metrics and pruning events recorded after `step` (they will be produced again by the
    /// run resuming from the checkpoint at `step`).
    public func rollback(_ lease: Lease, afterStep step: Int, keepEvents: Int) throws {
        try immediate { db in
            try Store.checkLease(db, lease)
            try db.execute(sql: "DELETE FROM metrics WHERE job_seq = ? AND step > ?", arguments: [lease.job.seq, step])
            try db.execute(sql: "DELETE FROM pruning_events WHERE job_seq = ? AND ordinal >= ?", arguments: [lease.job.seq, keepEvents])
            try db.execute(sql: "UPDATE jobs SET completed_steps = MIN(completed_steps, ?) WHERE seq = ?", arguments: [step, lease.job.seq])
        }
    }

    /// Points the job's snapshot row at a new file (already written atomically); returns the
    /// previous file's path so the caller can delete it.
    public func saveSnapshot(_ lease: Lease, path: String, pipelineStep: Int, phase: String?, bytes: Int64, now: Double?) throws -> String? {
        let now = now ?? Store.now()
        return try immediate { db in
            try Store.checkLease(db, lease)
            let old = try String.fetchOne(db, sql: "SELECT path FROM snapshots WHERE job_seq = ?", arguments: [lease.job.seq])
            try db.execute(sql: """
                INSERT OR REPLACE INTO snapshots (job_seq, path, pipeline_step, phase, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [lease.job.seq, path, pipelineStep, phase, bytes, now])
            return old == path ? nil : old
        }
    }

    public func snapshot(jobSeq: Int64) throws -> SnapshotRow? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM snapshots WHERE job_seq = ?", arguments: [jobSeq]).map {
                SnapshotRow(path: $0["path"], pipelineStep: $0["pipeline_step"], phase: $0["phase"], bytes: $0["bytes"])
            }
        }
    }
}
