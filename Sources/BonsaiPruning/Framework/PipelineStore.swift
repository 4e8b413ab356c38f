import Foundation

/// Where a pipeline persists its snapshots so a crashed or drained job resumes where it stopped.
/// The job server stores them under its data directory; `bonsai prune` in a folder of its own.
public protocol PipelineStore: AnyObject {
    func save(_ snapshot: PipelineSnapshot) throws
    func latest() throws -> PipelineSnapshot?
}

/// A pipeline's durable state: completed phases, the phase in progress (with the trainer's state
/// when inside a training run), the model, masks, pruning events and the method's stash.
public struct PipelineSnapshot: @unchecked Sendable {
    public var completedPhases: [String]
    /// The phase whose training was in progress, when the snapshot was taken inside one.
    public var phaseInProgress: String?
    /// Steps completed over the whole pipeline.
    public var pipelineStep: Int
    public var events: [PruningEvent]
    public var notes: [String: String]
    /// Model, masks, optimizer (meaningful when `phaseInProgress` is set), position, random state,
    /// and the stash as attachments.
    public var checkpoint: Checkpoint

    struct Header: Codable {
        var completedPhases: [String]
        var phaseInProgress: String?
        var pipelineStep: Int
        var events: [PruningEvent]
        var notes: [String: String]
    }

    public func write(to path: String) throws {
        var checkpoint = self.checkpoint
        let header = Header(completedPhases: completedPhases, phaseInProgress: phaseInProgress, pipelineStep: pipelineStep,
                            events: events, notes: notes)
        checkpoint.extra["pipeline"] = String(decoding: try JSONEncoder().encode(header), as: UTF8.self)
        try checkpoint.write(to: path)
    }

    public static func read(from path: String) throws -> PipelineSnapshot {
        let checkpoint = try Checkpoint.read(from: path)
        guard let json = checkpoint.extra["pipeline"]?.data(using: .utf8),
              let header = try? JSONDecoder().decode(Header.self, from: json) else {
            throw SafetensorsError.badHeader(path: path, detail: "not a pipeline snapshot")
        }
        return PipelineSnapshot(completedPhases: header.completedPhases, phaseInProgress: header.phaseInProgress,
                                pipelineStep: header.pipelineStep, events: header.events, notes: header.notes,
                                checkpoint: checkpoint)
    }
}

/// Keeps the newest snapshot as `snapshot.safetensors` in a folder (written atomically).
public final class DirectoryPipelineStore: PipelineStore {
    public let directory: String
    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
    }
    var path: String { (directory as NSString).appendingPathComponent("snapshot.safetensors") }
    public func save(_ snapshot: PipelineSnapshot) throws { try snapshot.write(to: path) }
    public func latest() throws -> PipelineSnapshot? {
        FileManager.default.fileExists(atPath: path) ? try PipelineSnapshot.read(from: path) : nil
    }
}

/// Keeps snapshots in memory (tests, and runs that need no durability).
public final class MemoryPipelineStore: PipelineStore {
    public private(set) var snapshots: [PipelineSnapshot] = []
    public init() {}
    public func save(_ snapshot: PipelineSnapshot) throws { snapshots.append(snapshot) }
    public func latest() throws -> PipelineSnapshot? { snapshots.last }
}
