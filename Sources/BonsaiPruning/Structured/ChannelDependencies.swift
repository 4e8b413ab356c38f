/// Which channels of a model can be removed together: the dependency analysis behind structured
/// pruning and compaction (METHODS.md §0.1, §17 "physical compaction").
///
/// **Chains** (`vgg*`, `conv*`, `lenet5`, `lenet300`): the conv/linear/batch-norm layers, in
/// registration order (which is forward order for every chain of the zoo), form a chain in which
/// everything between two weight layers acts per channel (ReLU, max-pool, global average pool,
/// flatten). Every weight layer except the last (the classifier) produces one group; its batch
/// norm, if the next layer is one, is part of it; the next weight layer consumes it, with a column
/// block of `in / channels` (the `H·W` of the flattened map, or 1).
///
/// **ResNets** (`resnet*`): the outputs of `conv2`/`bn2`, the shortcuts and the stem meet at
/// residual additions, so pruning them would need every addition of a stage to agree (or a
/// zero-scatter re-expansion, as polarization's reference code does for the last conv of a
/// block). We follow Li et al. 2017 (PFEC, ResNet-56/110: "we only prune the first layer of each
/// residual block") and prune **only the inner channels of each block**: group = `conv1` (output)
/// + `bn1` → `conv2` (input). Block outputs keep their full width, so compaction needs no
/// re-expansion and the masked and compacted models compute exactly the same function. The stem,
/// `conv2`/`bn2`, the shortcuts and the classifier are never channel-pruned. Network slimming's
/// ResNet-164 uses channel-selection layers on pre-activation blocks, which this zoo has not; its
/// and polarization's inner-channel pruning coincides with ours.
public enum ChannelDependencies {
    /// The channel groups of `model`, in forward order. Throws for architectures without a known
    /// channel structure (e.g. `tinybert`) or with grouped convolutions.
    public static func groups(of model: Module) throws -> [ChannelGroup] {
        if model is ResNet { return residualGroups(model) }
        guard model is Sequential || model is ConvNet || model is LeNet5 else {
            throw PruningError.unsupportedModel(method: "structured pruning",
                                                detail: "no channel dependency analysis for \(type(of: model)) (supported: vgg*, conv*, lenet5, lenet300, resnet*)")
        }
        return try chainGroups(model)
    }

    /// Groups of a plain chain of conv/linear layers with optional batch norms after them.
    static func chainGroups(_ model: Module) throws -> [ChannelGroup] {
        var groups: [ChannelGroup] = []
        var pending: (path: String, channels: Int, norm: String?)?
        for (path, module) in model.namedModules() {
            if let norm = module as? BatchNorm {
                guard let p = pending, p.norm == nil, p.channels == norm.channels else {
                    throw PruningError.unsupportedModel(method: "structured pruning",
                                                        detail: "batch norm '\(path)' does not follow a layer with \(norm.channels) outputs")
                }
                pending?.norm = path
                continue
            }
            let io: (inputs: Int, outputs: Int)
            if let conv = module as? Conv2d {
                guard conv.groups == 1 else {
                    throw PruningError.unsupportedModel(method: "structured pruning", detail: "grouped convolution '\(path)'")
                }
                io = (conv.inChannels, conv.outChannels)
            } else if let linear = module as? Linear {
                io = (linear.inFeatures, linear.outFeatures)
            } else {
                continue
            }
            if let p = pending {
                guard io.inputs % p.channels == 0 else {
                    throw PruningError.unsupportedModel(method: "structured pruning",
                                                        detail: "'\(path)' reads \(io.inputs) inputs from \(p.channels) channels of '\(p.path)'")
                }
                groups.append(ChannelGroup(producer: p.path, norm: p.norm,
                                           consumers: [ChannelConsumer(path: path, block: io.inputs / p.channels)], channels: p.channels))
            }
            pending = (path, io.outputs, nil)
        }
        return groups
    }

    /// The inner channel of every basic block (`conv1` + `bn1` → `conv2`) of a `ResNet` or a
    /// compacted one.
    static func residualGroups(_ model: Module) -> [ChannelGroup] {
        var groups: [ChannelGroup] = []
        for stage in ["layer1", "layer2", "layer3"] {
            var index = 0
            while let conv1 = model.module(at: "\(stage).\(index).conv1") as? Conv2d {
                let prefix = "\(stage).\(index)."
                groups.append(ChannelGroup(producer: prefix + "conv1", norm: prefix + "bn1",
                                           consumers: [ChannelConsumer(path: prefix + "conv2")], channels: conv1.outChannels))
                index += 1
            }
        }
        return groups
    }
}
