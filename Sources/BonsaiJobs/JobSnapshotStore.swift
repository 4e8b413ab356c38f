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
        try FaultPoint.hit("snapshot-write")
        try snapshot.write(to: path)
        try FaultPoint.hit("snapshot-commit")
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
        let row = try store.snapshot(jobSeq: lease.job.seq)
        removeOrphans(keeping: row?.path)
        guard let row else { return nil }
        let snapshot = try PipelineSnapshot.read(from: layout.absolute(row.path))
        eventCount = snapshot.events.count
        return snapshot
    }

    /// Deletes snapshot files of earlier attempts that no row points at: left by a crash between
    /// the file's rename and its row's commit, or by a stale worker killed before cleaning up (its
    /// files can never become the row's, so removing them is safe even while it still runs).
    private func removeOrphans(keeping current: String?) {
        let folder = layout.jobFolder(lease.job.id)
        let mine = "snapshot-\(lease.token.prefix(8))-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: layout.absolute(folder))) ?? []
        where name.hasPrefix("snapshot-") && !name.hasPrefix(mine) && "\(folder)/\(name)" != current {
            try? FileManager.default.removeItem(atPath: layout.absolute("\(folder)/\(name)"))
        }
    }
}
