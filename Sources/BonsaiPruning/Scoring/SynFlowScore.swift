/// SynFlow's data-free synaptic-flow score (Tanaka et al. 2020; METHODS.md §4.1–4.2):
///
///     R = 1ᵀ f_{|θ|}(1),   S = |θ ⊙ ∂R/∂θ|
///
/// where `f_{|θ|}` is the network with **every** parameter and buffer replaced by its absolute value
/// (weights, biases, BN γ/β and running mean/variance — the reference takes `abs_()` of the whole
/// state dict) evaluated in eval mode (BN uses its running statistics) on one all-ones input of the
/// data's sample shape with batch 1. Masks stay on, so pruned weights contribute nothing and get
/// score 0.
///
/// Scores are products of many `|w|` and over- or underflow in Float32 on deep or wide nets (the
/// reference's "double precision fix", §4.5), so the whole computation runs in **Float64**: the
/// model's parameters and buffers are converted for scoring and the originals restored afterwards
/// (signs, dtype, masks and buffers exactly as before — ``ModelStateSwap``).
///
/// For a bias-free ReLU network the score is conservative: the scores of every layer sum to `R`
/// (each path's flow `∏|w|` is counted once per layer it crosses), and for every hidden neuron the
/// incoming and outgoing sums agree.
public enum SynFlowScore {
    /// One scoring pass with `masks` (by path; nil: the model's own) on the parameters.
    /// - Parameter sampleShape: the shape of one input sample, e.g. `[1, 28, 28]` or `[12]`.
    public static func scores(_ model: any Model, paths: [String], sampleShape: [Int], masks: MaskSet? = nil) -> ScoreSet {
        scoresAndFlow(model, paths: paths, sampleShape: sampleShape, masks: masks).scores
    }

    /// The scores and `R` itself.
    public static func scoresAndFlow(_ model: any Model, paths: [String], sampleShape: [Int],
                                     masks: MaskSet? = nil) -> (scores: ScoreSet, flow: Double) {
        let swap = ModelStateSwap(model)
        defer { swap.restore() }
        swap.linearize(dtype: .float64)
        if let masks {
            for (path, mask) in masks.masks { model.parameter(at: path)?.mask = mask }
        }
        let parameters = paths.map { model.parameter(at: $0)! }
        let theta = parameters.map { $0.value }
        let ones = Tensor.ones([1] + sampleShape, dtype: .float64)
        let (flow, grads) = Engine.withGrad { () -> (Double, [Tensor]) in
            let r = model.forward(.dense(ones), context: ForwardContext(training: false)).sum()
            return (r.item, gradients(of: r, withRespectTo: theta))
        }
        let scores = ScoreSet(zip(paths, zip(theta, grads)).map { path, pair in
            (path, Engine.withoutGrad { (pair.1 * pair.0.detached()).abs() }.doubles)
        })
        return (scores, flow)
    }

    /// Density after iteration `k` of `n` towards final density `d`: exponential `d^{k/n}` (the
    /// paper's schedule) or linear `1 − (1 − d)·k/n`.
    public static func density(iteration k: Int, of n: Int, final d: Double, schedule: SynFlowSchedule) -> Double {
        let t = Double(k) / Double(Swift.max(n, 1))
        switch schedule {
        case .exponential: return powDouble(d, t)
        case .linear: return 1 - (1 - d) * t
        }
    }

    /// SynFlow's iterative pruning loop (`prune_loop`, §4.2): for `k = 1…n`, score with the masks of
    /// the previous iteration applied, then keep the top `ρ_k` fraction (global or per tensor) with
    /// the framework's exact selector (ties by position, exact counts, pruned weights never revived)
    /// instead of the reference's `score ≤ τ` threshold. Returns the final masks (intersected with
    /// the model's current ones); the model itself is left unchanged.
    public static func iterativeMasks(_ model: any Model, paths: [String], sampleShape: [Int], sparsity: Double,
                                      iterations: Int, schedule: SynFlowSchedule, scope: Scope,
                                      progress: (Int) -> Void = { _ in }) -> MaskSet {
        var masks = MaskSet(model: model)
        for k in 1...Swift.max(iterations, 1) {
            let scores = self.scores(model, paths: paths, sampleShape: sampleShape, masks: masks)
            // The last iteration uses the target itself (1 − (1 − s) need not round-trip exactly).
            let target = k >= iterations ? sparsity
                : 1 - self.density(iteration: k, of: iterations, final: 1 - sparsity, schedule: schedule)
            let selected = TopK.select(scores, sparsity: Swift.min(Swift.max(target, 0), 1), scope: scope,
                                       current: flat(masks))
            masks = masks.intersected(with: reshaped(selected, like: model))
            progress(k)
        }
        return masks
    }

    private static func flat(_ masks: MaskSet) -> MaskSet {
        MaskSet(masks.masks.mapValues { $0.reshaped([$0.count]) })
    }

    private static func reshaped(_ masks: MaskSet, like model: Module) -> MaskSet {
        MaskSet(Dictionary(uniqueKeysWithValues: masks.masks.map { path, mask in
            (path, mask.reshaped(model.parameter(at: path)!.shape))
        }))
    }
}

/// How SynFlow's density falls over its iterations.
public enum SynFlowSchedule: String, Codable, Sendable, CaseIterable {
    case exponential, linear
}
