import Foundation

/// Where the server keeps its files under the data directory:
///
/// ```
/// <data-dir>/bonsai.sqlite                         the store
/// <data-dir>/jobs/<job-id>/snapshot-<lease>.safetensors  newest resumable snapshot
/// <data-dir>/jobs/<job-id>/artifacts/<lease-token>/{weights,masks}.safetensors, report.json  (one folder per attempt; see ArtifactPublisher)
/// ```
///
/// Rows store paths relative to the data directory, so the folder can be moved.
public struct DataLayout: Sendable {
    public let root: String

    public init(root: String) throws {
        let absolute = root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
        try FileManager.default.createDirectory(atPath: absolute + "/jobs", withIntermediateDirectories: true)
        self.root = absolute
    }

    public var databasePath: String { root + "/bonsai.sqlite" }
    public func absolute(_ relative: String) -> String { root + "/" + relative }
    public func jobFolder(_ id: String) -> String { "jobs/\(id)" }
    public func artifactFolder(_ id: String) -> String { "jobs/\(id)/artifacts" }

    /// Removes files of a deleted job (paths relative to the root; anything outside is ignored).
    public func remove(_ relative: [String], jobID: String) {
        for path in relative where !path.contains("..") { try? FileManager.default.removeItem(atPath: absolute(path)) }
        if !jobID.contains("/") && !jobID.contains("..") { try? FileManager.default.removeItem(atPath: absolute(jobFolder(jobID))) }
    }
}
