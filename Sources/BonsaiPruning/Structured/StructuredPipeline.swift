import Foundation

/// What structured methods share inside a pipeline: the model's channel groups, and channel
/// pruning as a recorded pruning event whose kept channel indices survive a resume (in `notes`,
/// key ``PipelineContext/channelMasksNote``) so the result can be compacted afterwards.
extension PipelineContext {
    public static let channelMasksNote = "channel-masks"

    /// The channel groups of the model (throws for architectures without a channel analysis).
    public func channelGroups(method: String) throws -> [ChannelGroup] {
        do { return try ChannelDependencies.groups(of: model) } catch let PruningError.unsupportedModel(_, detail) {
            throw PruningError.unsupportedModel(method: method, detail: detail)
        }
    }

    /// Removes the channels not kept in `channels` (on top of those already removed), through the
    /// element masks of ``ChannelMasks/elementMasks(_:groups:model:)``, and records the kept indices.
    @discardableResult
    public func pruneChannels(_ channels: ChannelMaskSet, groups: [ChannelGroup], event: String) throws -> PruningEvent {
        let masks = try ChannelMasks.elementMasks(channels, groups: groups, model: model)
        let result = try prune(masks, event: event)
        let current = ChannelMasks.current(in: model, groups: groups)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        notes[Self.channelMasksNote] = String(decoding: try encoder.encode(current), as: UTF8.self)
        let (total, kept) = current.counts
        message("\(event): \(kept) of \(total) channels kept (" + groups.map { "\($0.name) \(current[$0.name]?.kept.count ?? 0)/\($0.channels)" }
            .joined(separator: ", ") + ")")
        return result
    }

    /// The channel masks recorded by the last ``pruneChannels(_:groups:event:)``, if any.
    public var recordedChannelMasks: ChannelMaskSet? {
        notes[Self.channelMasksNote].flatMap { try? JSONDecoder().decode(ChannelMaskSet.self, from: Data($0.utf8)) }
    }
}
