import BonsaiPruning
import BonsaiStore
import Foundation

/// Writes a finished job's artifacts so that only the lease holder's files can ever be served.
///
/// Each attempt writes into a folder of its own, named after its lease token
/// (`jobs/<id>/artifacts/<token>.partial`), renames it to `jobs/<id>/artifacts/<token>` once every
/// file is complete and fsynced, and then records the rows (paths and SHA-256) in the lease-checked
/// `succeed` transaction. A stale worker (one whose lease expired while it was frozen, and whose job
/// another worker took over) therefore never overwrites the files the store points at: its folder
/// has another name, its `succeed` fails with `leaseLost`, and it deletes its folder. Earlier
/// versions wrote every attempt into `jobs/<id>/artifacts/` in place, so a stale worker resumed
/// after the new owner's success replaced the served files (with different bytes whenever the two
/// processes trained with different thread counts), and the stored SHA-256 no longer matched.
///
/// After a successful commit the folders of other attempts (crashed or stale) are removed.
struct ArtifactPublisher {
    let store: any JobStore
    let layout: DataLayout

    func publish(_ lease: Lease, model: any Model, result: PipelineResult, report: PruningReport, spec: PipelineSpec,
                 resultJSON: String) throws {
        let parent = layout.artifactFolder(lease.job.id)
        let name = String(lease.token.prefix(16))
        let folder = "\(parent)/\(name)", staging = "\(parent)/\(name).partial"
        let files = FileManager.default
        try FaultPoint.hit("artifact-write")
        try? files.removeItem(atPath: layout.absolute(staging))
        try ArtifactWriter.write(model: model, result: result, report: report, spec: spec, to: layout.absolute(staging))
        try FaultPoint.hit("artifact-rename")
        try? files.removeItem(atPath: layout.absolute(folder))
        guard rename(layout.absolute(staging), layout.absolute(folder)) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        Self.syncDirectory(layout.absolute(parent))
        do {
            try FaultPoint.hit("artifact-renamed")
            var artifacts: [ArtifactRow] = []
            for (kind, file) in ArtifactWriter.files(in: layout.absolute(folder)) {
                let relative = "\(folder)/\(file)"
                let path = layout.absolute(relative)
                let bytes = ((try files.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.int64Value ?? 0
                artifacts.append(ArtifactRow(kind: kind, path: relative, bytes: bytes, sha256: try SHA256.hex(fileAt: path)))
            }
            try store.succeed(lease, result: resultJSON, artifacts: artifacts)
        } catch {
            try? files.removeItem(atPath: layout.absolute(folder))
            throw error
        }
        for other in (try? files.contentsOfDirectory(atPath: layout.absolute(parent))) ?? [] where other != name {
            try? files.removeItem(atPath: layout.absolute("\(parent)/\(other)"))
        }
    }

    /// Makes a rename in `directory` durable (best effort, as in SafetensorsWriter).
    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
