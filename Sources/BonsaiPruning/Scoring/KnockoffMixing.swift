/// SCOP's forward pass with knockoff features (METHODS.md §10.3 step 4; reference
/// `SCOP_NeurIPS2020/pruning_modules.py::Kf_Conv2d`).
///
/// The batch is `[X ; X̃]` (first half real, second half knockoff). At the producer of every wrapped
/// channel group (``ChannelGroup/producer``: a conv, or for `lenet300` a hidden linear layer), the
/// output `A = layer([X_l ; X̃_l])` has its real half replaced by the per-channel mixture
///
///     A_real ← β ⊙ A_real + (1 − β) ⊙ A_knockoff   (β broadcast over the spatial axes)
///
/// while the knockoff half is left unchanged, so the real branch carries the mixture downstream and
/// the knockoff branch pure knockoff features. Everything else runs the model's own layers (same
/// masks): in `training` mode batch norm normalises the whole 2B batch with its batch statistics,
/// as the reference's `model.train()`, but the running statistics are **not** updated (the weights
/// are frozen in SCOP's β phase; the running statistics are recalibrated on real data after
/// pruning, step 9). In evaluation mode batch norm uses the running statistics, so with `β = 1`
/// the real half equals the original network's output exactly.
///
/// Wrapped layers: exactly the channel groups of ``ChannelDependencies`` — for ResNets the inner
/// conv of each block (the reference also wraps each block's last conv and scatters its pruned
/// outputs back to full width; our compaction prunes inner channels only, so those are not wrapped),
/// never the stem or shortcut convs (as in the reference).
public struct KnockoffMixing {
    public let steps: [InferenceStep]
    /// Producer weight path → group name.
    let producers: [String: String]

    public init(model: Module, groups: [ChannelGroup]) throws {
        guard case let .steps(steps)? = InferencePlan.make(model) else {
            throw PruningError.unsupportedModel(method: "scop", detail: "knockoff mixing needs a conv / linear zoo model")
        }
        self.steps = steps
        self.producers = Dictionary(uniqueKeysWithValues: groups.map { ($0.producer + ".weight", $0.name) })
    }

    /// Logits of `[real ; knockoff]` (`[2B, classes]`; rows `0..<B` are the real branch) with the
    /// mixing factors `betas` (group name → `[C]`; a group without an entry is not mixed).
    public func forward(real: Tensor, knockoff: Tensor, betas: [String: Tensor], training: Bool) -> Tensor {
        precondition(real.shape == knockoff.shape, "KnockoffMixing.forward: real \(real.shape) vs knockoff \(knockoff.shape)")
        let half = real.shape[0]
        return run(steps, Tensor.concat([real, knockoff], axis: 0), half: half, betas: betas, training: training)
    }

    func run(_ steps: [InferenceStep], _ x: Tensor, half: Int, betas: [String: Tensor], training: Bool) -> Tensor {
        var h = x
        for step in steps {
            switch step {
            case let .linear(path, layer):
                h = mix(layer.forward(h, context: .evaluation), path: path, half: half, betas: betas)
            case let .conv(path, layer):
                h = mix(layer.forward(h, context: .evaluation), path: path, half: half, betas: betas)
            case let .batchNorm(bn):
                if training {
                    // Batch statistics of the whole 2B batch; copies keep the running statistics untouched.
                    var mean = bn.runningMean.tensor ?? .zeros([bn.channels])
                    var variance = bn.runningVar.tensor ?? .ones([bn.channels])
                    h = batchNorm(h, weight: bn.weight.effective, bias: bn.bias.effective, runningMean: &mean,
                                  runningVar: &variance, training: true, momentum: bn.momentum, eps: bn.eps)
                } else {
                    h = bn.forward(h, context: .evaluation)
                }
            case .relu: h = h.relu()
            case let .maxPool(kernel, stride): h = maxPool2d(h, kernel: kernel, stride: stride)
            case let .globalAvgPool(keep):
                let pooled = globalAvgPool2d(h)
                h = keep ? pooled.reshaped([h.shape[0], h.shape[1], 1, 1]) : pooled
            case .flatten: h = h.flattened(from: 1)
            case let .residual(body, shortcut):
                let a = run(body, h, half: half, betas: betas, training: training)
                let b = shortcut.isEmpty ? h : run(shortcut, h, half: half, betas: betas, training: training)
                h = (a + b).relu()
            }
        }
        return h
    }

    /// `A_real ← A_knock + β ⊙ (A_real − A_knock)` on the first half of `a`, if `path` is wrapped.
    func mix(_ a: Tensor, path: String, half: Int, betas: [String: Tensor]) -> Tensor {
        guard let group = producers[path], let beta = betas[group] else { return a }
        let channels = a.shape[1]
        precondition(beta.count == channels, "KnockoffMixing: β of \(beta.count) for \(channels) channels of \(path)")
        var view = [1, channels]
        view += Array(repeating: 1, count: a.rank - 2)
        let realPart = a.sliced(axis: 0, start: 0, length: half)
        let knockPart = a.sliced(axis: 0, start: half, length: a.shape[0] - half)
        let mixed = knockPart + beta.cast(to: a.dtype).reshaped(view) * (realPart - knockPart)
        return Tensor.concat([mixed, knockPart], axis: 0)
    }
}
