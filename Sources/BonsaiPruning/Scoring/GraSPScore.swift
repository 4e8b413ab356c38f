/// GraSP's gradient-signal-preservation score (Wang et al. 2020; METHODS.md §3.2):
///
///     S = −θ ⊙ H g,   g = ∇_θ L,   L = Σ_parts CE(f(x_part)/T, y_part)
///
/// over the prunable weights θ (the Hessian is the weight–weight block: biases and norm parameters
/// take part in the forward pass but are not differentiated, as in the reference where only conv
/// and linear weights are in `weights`). The reference forwards the class-balanced sample in two
/// halves and sums: `g = Σ_h ∇L_h` and `Hg = Σ_h ∇⟨stopgrad(g), ∇L_h⟩ = H_{ΣL_h} g`, which is what
/// the sum over `parts` computes.
///
/// `H g` comes from ``hessianVectorProduct(at:direction:epsilon:loss:)`` — a central difference of
/// gradients along `g` — computed in **Float64** (the model's parameters and inputs are converted
/// for the duration of the scoring and restored afterwards), where its relative error is about
/// 1e-8 on smooth losses.
///
/// Removing weight `j` changes the squared gradient norm by `‖∇L(θ − θ_j e_j)‖² − ‖g‖² ≈
/// −2θ_j (Hg)_j = 2 S_j` to first order, so a **large** `S` means removing the weight preserves (or
/// increases) gradient flow: GraSP prunes the largest `S` and keeps the smallest. Pass `−S` to the
/// top-k selector (which keeps the largest) — ``keepScores(_:)`` does that.
public enum GraSPScore {
    /// `S = −θ ⊙ Hg` per prunable tensor, in Float64.
    ///
    /// - Parameters:
    ///   - replacements: values used instead of some parameters while scoring (GraSP's re-initialised
    ///     linear layers); θ in the score is then the replacement, as in the reference.
    ///   - temperature: logits are divided by it (reference default 200).
    ///   - training: batch-norm mode; running buffers are restored afterwards.
    public static func scores(_ model: any Model, paths: [String], parts: [LabeledBatch], temperature: Double = 200,
                              training: Bool, replacements: [String: Tensor] = [:]) -> ScoreSet {
        precondition(!parts.isEmpty, "GraSPScore.scores: no data")
        let swap = ModelStateSwap(model)
        defer { swap.restore() }
        swap.cast(to: .float64)
        for (path, value) in replacements {
            guard let parameter = model.parameter(at: path) else { preconditionFailure("GraSPScore: no parameter '\(path)'") }
            swap.setValue(of: parameter, to: value.detached().cast(to: .float64).detached().requiringGrad())
        }
        let parameters = paths.map { model.parameter(at: $0)! }
        let theta = parameters.map { $0.value }
        let inputs = parts.map { LabeledBatch(input: $0.input.cast(to: .float64), labels: $0.labels) }

        /// Σ_parts CE(f(x)/T, y) with the prunable weights set to `weights` (fresh leaves).
        func loss(_ weights: [Tensor]) -> Tensor {
            for (parameter, w) in zip(parameters, weights) { swap.setValue(of: parameter, to: w) }
            var total: Tensor? = nil
            for part in inputs {
                let context = ForwardContext(training: training, rng: RandomGenerator(seed: 0))
                let logits = model.forward(part.input, context: context).scaled(by: 1 / temperature)
                let l = crossEntropy(logits: logits, labels: part.labels)
                total = total.map { $0 + l } ?? l
            }
            return total!
        }
        let g = Engine.withGrad { gradients(of: loss(theta), withRespectTo: theta) }
        let hg = hessianVectorProduct(at: theta, direction: g.map { $0.detached() }, loss: loss)
        for (parameter, w) in zip(parameters, theta) { swap.setValue(of: parameter, to: w) }
        return ScoreSet(zip(paths, zip(theta, hg)).map { path, pair in
            (path, Engine.withoutGrad { (pair.0.detached() * pair.1).scaled(by: -1) }.doubles)
        })
    }

    /// The scores the keep-the-largest selector needs: `−S = θ ⊙ Hg` (GraSP removes the largest `S`).
    public static func keepScores(_ scores: ScoreSet) -> ScoreSet {
        ScoreSet(scores.entries.map { ($0.path, $0.scores.map { -$0 }) })
    }
}
