import BonsaiPruning
import BonsaiStore
import Foundation

/// A ``PipelineStore`` backed by files under the data directory plus a `snapshots` row.
///
/// `save` writes the snapshot to a file named after the lease (atomically: temporary file, fsync,
/// rename), then points the row at it in a lease-checked transaction, then deletes the previous
/// file. A stale worker's file never becomes the row's (its transaction fails) and is removed.
final class JobSnapshotStore: PipelineStore {
    let store: any JobStore
    let layout: DataLayout
    let lease: Lease
    private var sequence = 0
    /// Pruning events in the newest snapshot saved or restored (the recorder keeps that many rows on rollback).
    private(set) var eventCount = 0

    init(store: any JobStore, layout: DataLayout, lease: Lease) {
        self.store = store; self.layout = layout; self.lease = lease
    }

    func save(_ snapshot: PipelineSnapshot) throws {
        sequence += 1
        eventCount = snapshot.events.count
        let folder = layout.jobFolder(lease.job.id)
        try FileManager.default.createDirectory(atPath: layout.absolute(folder), withIntermediateDirectories: true)
        let relative = "\(folder)/snapshot-\(lease.token.prefix(8))-\(sequence % 2).safetensors"
        let path = layout.absolute(relative)
        try snapshot.write(to: path)
        let bytes = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.int64Value ?? 0
        do {
            if let old = try store.saveSnapshot(lease, path: relative, pipelineStep: snapshot.pipelineStep,
                                                phase: snapshot.phaseInProgress, bytes: bytes) {
                try? FileManager.default.removeItem(atPath: layout.absolute(old))
            }
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    func latest() throws -> PipelineSnapshot? {
        guard let row = try store.snapshot(jobSeq: lease.job.seq) else { return nil }
        let snapshot = try PipelineSnapshot.read(from: layout.absolute(row.path))
        eventCount = snapshot.events.count
        return snapshot
    }
}
