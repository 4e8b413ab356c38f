/// One set of channels that must be pruned together (METHODS.md §0.1, "structured pruning"):
/// output channel `j` of a producer (conv or linear), the matching batch-norm channel (γ_j, β_j and
/// its running statistics), and input channel `j` of every consumer.
///
/// A consumer's input channel may cover several columns: after `flatten` of an NCHW map, channel
/// `j` of a `C×H×W` map is the column block `j·H·W ..< (j+1)·H·W` of the next linear layer, so each
/// consumer records its `block` (1 for a conv or a linear fed directly).
public struct ChannelGroup: Codable, Sendable, Equatable {
    /// Module path of the producing `Conv2d` or `Linear` (e.g. `features.0`, `layer1.0.conv1`).
    public var producer: String
    /// Module path of the `BatchNorm` right after the producer, if any.
    public var norm: String?
    /// The layers reading these channels.
    public var consumers: [ChannelConsumer]
    /// Channels of the producer's output.
    public var channels: Int

    public init(producer: String, norm: String?, consumers: [ChannelConsumer], channels: Int) {
        self.producer = producer; self.norm = norm; self.consumers = consumers; self.channels = channels
    }

    /// The group's name: its producer's path.
    public var name: String { producer }

    /// Parameter path of the per-channel scale γ (network slimming and polarization act on it).
    public var scalePath: String? { norm.map { $0 + ".weight" } }
}

/// A layer reading a group's channels: input channel `j` is its input columns `j·block ..< (j+1)·block`.
public struct ChannelConsumer: Codable, Sendable, Equatable {
    public var path: String
    public var block: Int

    public init(path: String, block: Int = 1) {
        self.path = path
        self.block = block
    }
}

/// The channels kept in one group, sorted ascending (a structured mask in compact form).
public struct ChannelMask: Codable, Sendable, Equatable {
    public var group: String
    public var kept: [Int]
    public var channels: Int

    public init(group: String, kept: [Int], channels: Int) {
        precondition(kept.allSatisfy { (0..<channels).contains($0) } && Set(kept).count == kept.count,
                     "ChannelMask(\(group)): kept indices \(kept) must be distinct and in 0..<\(channels)")
        self.group = group
        self.kept = kept.sorted()
        self.channels = channels
    }

    /// Keeps every channel.
    public static func dense(_ group: ChannelGroup) -> ChannelMask {
        ChannelMask(group: group.name, kept: Array(0..<group.channels), channels: group.channels)
    }

    public var pruned: [Int] {
        let keep = Set(kept)
        return (0..<channels).filter { !keep.contains($0) }
    }

    /// 0/1 per channel.
    public var indicator: [Float] {
        var values = [Float](repeating: 0, count: channels)
        for j in kept { values[j] = 1 }
        return values
    }
}

/// Channel masks of a model, by group name.
public struct ChannelMaskSet: Codable, Sendable, Equatable {
    public var masks: [String: ChannelMask]

    public init(_ masks: [ChannelMask] = []) {
        self.masks = Dictionary(uniqueKeysWithValues: masks.map { ($0.group, $0) })
    }

    public subscript(group: String) -> ChannelMask? {
        get { masks[group] }
        set { masks[group] = newValue }
    }

    /// Kept and total channels over all groups.
    public var counts: (total: Int, kept: Int) {
        masks.values.reduce((0, 0)) { ($0.0 + $1.channels, $0.1 + $1.kept.count) }
    }

    /// Fraction of channels removed over all groups.
    public var channelSparsity: Double {
        let c = counts
        return c.total == 0 ? 0 : 1 - Double(c.kept) / Double(c.total)
    }
}
