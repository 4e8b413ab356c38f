import BonsaiStore
import Foundation
import PostgresNIO

/// Progress of a running job: every write checks (and locks) the lease first. READ COMMITTED is
/// enough: the decision depends on the one job row, and `FOR UPDATE` in the lease check holds it.
extension PostgresStore {
    public func record(_ lease: Lease, _ update: ProgressUpdate, now: Double?) throws {
        guard !update.isEmpty else { return }
        try transaction("record", now: now) { tx in
            try Self.checkLease(tx, lease)
            let seq = lease.job.seq
            try tx.session.execute("""
                UPDATE jobs SET phase = COALESCE(\(update.phase), phase), planned_steps = COALESCE(\(update.plannedSteps), planned_steps),
                    completed_steps = COALESCE(\(update.completedSteps), completed_steps),
                    eta_seconds = COALESCE(\(update.etaSeconds), eta_seconds),
                    latest_metrics = COALESCE(\(update.latestMetrics), latest_metrics),
                    progress = CASE WHEN COALESCE(\(update.plannedSteps), planned_steps) > 0
                        THEN LEAST(1.0, COALESCE(\(update.completedSteps), completed_steps)::float8 / COALESCE(\(update.plannedSteps), planned_steps))
                        ELSE progress END,
                    updated_at = \(tx.now), version = version + 1
                WHERE seq = \(seq)
                """)
            if !update.metrics.isEmpty {
                // One statement for the batch. Like SQLite's INSERT OR REPLACE, the last sample of a
                // (key, step) wins; duplicates within the batch are dropped first because
                // ON CONFLICT cannot update one row twice in a statement.
                var last: [String: Int] = [:]
                for (i, m) in update.metrics.enumerated() { last["\(m.key)\u{0}\(m.step)"] = i }
                let samples = last.values.sorted().map { update.metrics[$0] }
                let keys = samples.map(\.key), steps = samples.map(\.step), times = samples.map(\.time)
                let values = samples.map { $0.value ?? 0 }, missing = samples.map { $0.value == nil }
                try tx.session.execute("""
                    INSERT INTO metrics (job_seq, key, step, value, time)
                    SELECT \(seq), k, s, CASE WHEN n THEN NULL ELSE v END, t
                    FROM unnest(\(keys)::text[], \(steps)::int8[], \(values)::float8[], \(missing)::bool[], \(times)::float8[]) AS u(k, s, v, n, t)
                    ON CONFLICT (job_seq, key, step) DO UPDATE SET value = EXCLUDED.value, time = EXCLUDED.time
                    """)
            }
            for e in update.events { try Self.appendEvent(tx, jobSeq: seq, kind: e.kind, data: e.data) }
        }
    }

    public func recordPruningEvent(_ lease: Lease, ordinal: Int, _ e: PruningEventRow, now: Double?) throws {
        try transaction("recordPruningEvent", now: now) { tx in
            try Self.checkLease(tx, lease)
            try tx.session.execute("""
                INSERT INTO pruning_events (job_seq, ordinal, name, phase, step, sparsity, accuracy_before, accuracy_after, instability)
                VALUES (\(lease.job.seq), \(ordinal), \(e.name), \(e.phase), \(e.step), \(e.sparsity), \(e.accuracyBefore),
                        \(e.accuracyAfter), \(e.instability))
                ON CONFLICT (job_seq, ordinal) DO UPDATE SET name = EXCLUDED.name, phase = EXCLUDED.phase, step = EXCLUDED.step,
                    sparsity = EXCLUDED.sparsity, accuracy_before = EXCLUDED.accuracy_before,
                    accuracy_after = EXCLUDED.accuracy_after, instability = EXCLUDED.instability
                """)
            try Self.appendEvent(tx, jobSeq: lease.job.seq, kind: "pruned",
                                 data: ["name": e.name, "phase": e.phase, "step": e.step, "sparsity": e.sparsity,
                                        "accuracy_before": e.accuracyBefore, "accuracy_after": e.accuracyAfter])
        }
    }

    public func rollback(_ lease: Lease, afterStep step: Int, keepEvents: Int) throws {
        try transaction("rollback", now: nil) { tx in
            try Self.checkLease(tx, lease)
            try tx.session.execute("DELETE FROM metrics WHERE job_seq = \(lease.job.seq) AND step > \(step)")
            try tx.session.execute("DELETE FROM pruning_events WHERE job_seq = \(lease.job.seq) AND ordinal >= \(keepEvents)")
            try tx.session.execute("UPDATE jobs SET completed_steps = LEAST(completed_steps, \(step)) WHERE seq = \(lease.job.seq)")
        }
    }

    public func saveSnapshot(_ lease: Lease, path: String, pipelineStep: Int, phase: String?, bytes: Int64, now: Double?) throws -> String? {
        try transaction("saveSnapshot", now: now) { tx in
            try Self.checkLease(tx, lease)
            let old = try tx.session.one("SELECT path FROM snapshots WHERE job_seq = \(lease.job.seq)")?.string("path")
            try tx.session.execute("""
                INSERT INTO snapshots (job_seq, path, pipeline_step, phase, bytes, created_at)
                VALUES (\(lease.job.seq), \(path), \(pipelineStep), \(phase), \(bytes), \(tx.now))
                ON CONFLICT (job_seq) DO UPDATE SET path = EXCLUDED.path, pipeline_step = EXCLUDED.pipeline_step,
                    phase = EXCLUDED.phase, bytes = EXCLUDED.bytes, created_at = EXCLUDED.created_at
                """)
            return old == path ? nil : old
        }
    }

    public func snapshot(jobSeq: Int64) throws -> SnapshotRow? {
        try read { s in
            try s.one("SELECT * FROM snapshots WHERE job_seq = \(jobSeq)").map {
                SnapshotRow(path: try $0.string("path"), pipelineStep: try $0.int("pipeline_step"),
                            phase: try $0.optionalString("phase"), bytes: try $0.int64("bytes"))
            }
        }
    }
}
