import Foundation

/// The Gaussian actor-critic of METHODS.md §13.3 (`PPOAgentGaussian*.py`).
///
/// - Dynamic agent: layer `l`'s state `[GAP(x_l), g_dyn]` goes through its own encoder
///   `Linear(C_in + C_out → H)` + ReLU; the result, concatenated with the scalar budget, feeds a
///   single-layer tanh RNN shared across layers, `h_l = tanh(W_ih [e_l, b] + W_hh h_{l−1} + biases)`.
/// - Static agent: no encoder; the RNN input is the budget alone (input-independent).
/// - Heads: mean `μ = Linear(h) + budget` (weight scaled by 0.01, bias 0, so μ starts at the budget
///   within ±0.003 — the usual PPO initialisation of a policy's last layer), `log σ = Linear(h)` with
///   bias −4, value `V = Linear(h)`. A first version scaled by 0.2: with `h` in (−1, 1)^H that put
///   each layer's initial ratio up to ±0.06 off the budget, and since MACs are products of adjacent
///   ratios the runs started (and, with few PPO episodes, stayed) 7–22 % under the MAC cap —
///   before any learning; see docs/runtime-pruning.md.
///
/// `H` is a setting (the reference uses 128; CPU runs default to 32, see the method's settings).
public final class GaussianAgent: Module {
    public let encoders: [Linear]
    public let inputLayer: Linear
    public let hiddenLayer: Linear
    public let mean: Linear
    public let logSigma: Linear
    public let value: Linear
    public let hidden: Int

    /// `stateSizes`: the per-layer state widths (`C_in + C_out`), or nil for the static agent.
    public init(stateSizes: [Int]?, layers: Int, hidden: Int, rng: inout RandomGenerator) {
        self.hidden = hidden
        encoders = (stateSizes ?? []).map { Linear($0, hidden, rng: &rng) }
        inputLayer = Linear((stateSizes == nil ? 0 : hidden) + 1, hidden, rng: &rng)
        hiddenLayer = Linear(hidden, hidden, rng: &rng)
        mean = Linear(hidden, 1, rng: &rng)
        logSigma = Linear(hidden, 1, rng: &rng)
        value = Linear(hidden, 1, rng: &rng)
        super.init()
        for (l, encoder) in encoders.enumerated() { register(child: "encoders.\(l)", encoder) }
        register(child: "rnn_ih", inputLayer)
        register(child: "rnn_hh", hiddenLayer)
        register(child: "mu", mean)
        register(child: "log_sigma", logSigma)
        register(child: "value", value)
        mean.weight.assign(mean.weight.value.detached() * 0.01)
        mean.bias?.assign(.zeros([1]))
        logSigma.bias?.assign(.full([1], value: -4))
    }

    public var isDynamic: Bool { !encoders.isEmpty }

    /// One RNN step for `n` episodes: `state` `[n, C_in + C_out]` (dynamic) or nil (static),
    /// previous hidden `[n, H]`. Returns `μ`, `log σ`, `V` (each `[n, 1]`) and the new hidden.
    public func step(layer l: Int, state: Tensor?, budget: Double, hidden h: Tensor)
        -> (mean: Tensor, logSigma: Tensor, value: Tensor, hidden: Tensor) {
        let n = h.shape[0]
        let b = Tensor.full([n, 1], value: budget)
        var input = b
        if let state {
            precondition(isDynamic && l < encoders.count, "GaussianAgent.step: state for layer \(l) of a static agent")
            let e = encoders[l].forward(state, context: .evaluation).relu()
            input = Tensor.concat([e, b], axis: 1)
        }
        let next = (inputLayer.forward(input, context: .evaluation) + hiddenLayer.forward(h, context: .evaluation)).tanh()
        return (mean.forward(next, context: .evaluation) + budget, logSigma.forward(next, context: .evaluation),
                value.forward(next, context: .evaluation), next)
    }

    public func initialHidden(_ n: Int) -> Tensor { .zeros([n, hidden]) }

    /// `log N(a; μ, σ²) = −(a − μ)² / (2σ²) − log σ − ½ log 2π`.
    public static func logProbability(_ a: Tensor, mean: Tensor, logSigma: Tensor) -> Tensor {
        let d = a - mean
        return (d * d * (logSigma * -2).exp()) * -0.5 - logSigma - 0.5 * Foundation.log(2 * Double.pi)
    }

    /// Out-of-range penalty `100 · SmoothL1(μ, clip(μ, 0.1, 1))` (mean over entries): with
    /// `d = |μ − clip(μ)|` and `q = min(d, 1)`, SmoothL1 = `½q² + (d − q)`.
    public static func rangePenalty(_ mean: Tensor) -> Tensor {
        let target = Engine.withoutGrad { mean.detached().clamped(min: 0.1, max: 1) }
        let d = (mean - target).abs()
        let q = d.clamped(max: 1)
        return ((q * q) * 0.5 + (d - q)).mean() * 100
    }
}
