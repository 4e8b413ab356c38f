/// Translation between channel masks and the element masks the engine applies.
///
/// Removing channel `j` of a group zeroes, through masks:
/// * row `j` of the producer's weight (`[out, in, k, k]` or `[out, in]`) and entry `j` of its bias;
/// * `γ_j` and `β_j` of its batch norm. The normalised output is then `0·(x−μ_j)/σ_j + 0 = 0`
///   whatever the running statistics `μ_j`, `σ_j²` are, so they have no effect and need no mask
///   (buffers cannot carry one); compaction drops them;
/// * input columns `j·block ..< (j+1)·block` (dimension 1) of every consumer's weight.
///
/// The pruned channel is therefore exactly zero after every per-channel operation (ReLU(0) = 0,
/// max-pool and average-pool of zeros are 0), and the masked model computes the same function as
/// the physically smaller one (the compaction tests check this).
public enum ChannelMasks {
    /// Element masks for `channels` (groups without an entry are left alone). A parameter touched
    /// by two groups (a conv that consumes one group and produces the next) gets the product.
    public static func elementMasks(_ channels: ChannelMaskSet, groups: [ChannelGroup], model: Module) throws -> MaskSet {
        var result: [String: [Float]] = [:]
        var shapes: [String: [Int]] = [:]
        func edit(_ path: String, _ body: (inout [Float], [Int]) -> Void) throws {
            guard let parameter = model.parameter(at: path) else {
                throw PruningError.invalidMask(path: path, detail: "no such parameter")
            }
            var values = result[path] ?? [Float](repeating: 1, count: parameter.value.count)
            body(&values, parameter.shape)
            result[path] = values
            shapes[path] = parameter.shape
        }
        for group in groups {
            guard let mask = channels[group.name] else { continue }
            guard mask.channels == group.channels else {
                throw PruningError.invalidMask(path: group.name, detail: "channel mask of \(mask.channels) channels for a group of \(group.channels)")
            }
            let pruned = mask.pruned
            guard !pruned.isEmpty else { continue }
            var rowParameters = [group.producer + ".weight"]
            if model.parameter(at: group.producer + ".bias") != nil { rowParameters.append(group.producer + ".bias") }
            if let norm = group.norm { rowParameters += [norm + ".weight", norm + ".bias"] }
            for path in rowParameters {
                try edit(path) { values, shape in
                    let row = shape.dropFirst().reduce(1, *)
                    for j in pruned { for i in j * row ..< (j + 1) * row { values[i] = 0 } }
                }
            }
            for consumer in group.consumers {
                try edit(consumer.path + ".weight") { values, shape in
                    let inner = shape.dropFirst(2).reduce(1, *), columns = shape[1], rows = shape[0]
                    precondition(columns == group.channels * consumer.block,
                                 "ChannelMasks: consumer \(consumer.path) has \(columns) inputs for \(group.channels)×\(consumer.block)")
                    for r in 0..<rows {
                        for j in pruned {
                            let start = (r * columns + j * consumer.block) * inner
                            for i in start ..< start + consumer.block * inner { values[i] = 0 }
                        }
                    }
                }
            }
        }
        var masks: [String: Tensor] = [:]
        for (path, values) in result { masks[path] = Tensor(shape: shapes[path]!, scalars: values) }
        return MaskSet(masks)
    }

    /// The channels of each group that are already removed in `model`: with a batch norm, effective
    /// `γ_j = β_j = 0` (the channel is then 0 whatever the weights); without one, the producer's
    /// row and bias entry effectively zero. A channel whose weights are zero but whose batch norm
    /// still emits a constant is *not* removable and counts as kept.
    public static func current(in model: Module, groups: [ChannelGroup]) -> ChannelMaskSet {
        var masks: [ChannelMask] = []
        for group in groups {
            let weight = Engine.withoutGrad { model.parameter(at: group.producer + ".weight")!.effective.floats }
            let bias = Engine.withoutGrad { model.parameter(at: group.producer + ".bias")?.effective.floats }
            let gamma = group.norm.flatMap { n in Engine.withoutGrad { model.parameter(at: n + ".weight")?.effective.floats } }
            let beta = group.norm.flatMap { n in Engine.withoutGrad { model.parameter(at: n + ".bias")?.effective.floats } }
            let row = weight.count / group.channels
            var kept: [Int] = []
            for j in 0..<group.channels {
                var dead = true
                if let gamma, let beta {
                    dead = gamma[j] == 0 && beta[j] == 0
                } else {
                    for i in j * row ..< (j + 1) * row where weight[i] != 0 { dead = false; break }
                    if let bias, bias[j] != 0 { dead = false }
                }
                if !dead { kept.append(j) }
            }
            masks.append(ChannelMask(group: group.name, kept: kept, channels: group.channels))
        }
        return ChannelMaskSet(masks)
    }
}
