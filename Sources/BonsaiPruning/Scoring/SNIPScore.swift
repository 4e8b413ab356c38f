/// SNIP's connection sensitivity (Lee et al. 2019; METHODS.md §3.1).
///
/// Put a gate `c` on every prunable weight, `w_eff = c ⊙ w`. The sensitivity of weight `j` is
///
///     g_j = ∂L(c ⊙ w)/∂c_j |_{c=1} = w_j · ∂L/∂w_j
///
/// (chain rule through the product), and SNIP keeps the weights with the largest `|g_j|`. With
/// several batches the gradients are summed before the absolute value is taken, as the SynFlow
/// re-implementation does (`Σ_b ∇L_b`, each `L_b` a batch-mean cross-entropy). The normalisation
/// `|g|/Σ|g|` of the reference is omitted: it does not change the ranking.
///
/// Already-masked weights have `∂L/∂w = 0` (the forward uses `w ⊙ m`), so their score is 0; the
/// selector never revives them anyway.
public enum SNIPScore {
    /// `g ⊙ w` per prunable tensor (signed), summed over `batches`, in the model's dtype.
    ///
    /// `training` selects batch statistics (true) or running statistics (false) for batch norm; the
    /// running buffers are restored afterwards either way, so scoring leaves the model unchanged.
    public static func sensitivities(_ model: any Model, paths: [String], batches: [LabeledBatch],
                                     training: Bool) -> ScoreSet {
        let swap = ModelStateSwap(model)
        defer { swap.restore() }
        let parameters = paths.map { model.parameter(at: $0)! }
        let leaves = parameters.map { $0.value }
        var sums: [Tensor]? = nil
        let context = ForwardContext(training: training, rng: RandomGenerator(seed: 0))
        for batch in batches {
            let grads = Engine.withGrad {
                let loss = crossEntropy(logits: model.forward(batch.input, context: context), labels: batch.labels)
                return gradients(of: loss, withRespectTo: leaves)
            }
            sums = Engine.withoutGrad { sums.map { zip($0, grads).map { $0 + $1 } } ?? grads }
        }
        let g = sums ?? leaves.map { Tensor.zeros($0.shape, dtype: $0.dtype) }
        return ScoreSet(zip(paths, zip(g, leaves)).map { path, pair in
            (path, Engine.withoutGrad { pair.0 * pair.1.detached() }.doubles)
        })
    }

    /// `|g ⊙ w|`: the SNIP score.
    public static func scores(_ model: any Model, paths: [String], batches: [LabeledBatch], training: Bool) -> ScoreSet {
        let signed = sensitivities(model, paths: paths, batches: batches, training: training)
        return ScoreSet(signed.entries.map { ($0.path, $0.scores.map { Swift.abs($0) }) })
    }
}
