import Foundation

/// Episodes of one agent collected for a PPO update: `n` episodes of `L` steps (one per gated
/// layer), reward only at the last step (METHODS.md §13.3).
public struct PPOEpisodes {
    /// Per layer `[n, C_in + C_out]` states of the dynamic agent; nil for the static agent.
    public var states: [Tensor]?
    /// `[n, L]` actions as sampled (before clipping to [0.1, 1]).
    public var actions: [[Float]]
    /// `[n, L]` log-probabilities and values at collection time.
    public var logProbabilities: [[Float]]
    public var values: [[Float]]
    /// `[n]` terminal rewards.
    public var rewards: [Double]
    public var budget: Double

    public var count: Int { actions.count }
}

/// The PPO update of METHODS.md §13.3: GAE (γ = 0.999, λ = 0.95), advantages normalised per
/// minibatch, ratio clip 0.2, clipped value loss with coefficient 0.5, entropy coefficient 0, the
/// out-of-range penalty on the mean, one epoch in minibatches of 64, gradient-norm clip 0.5 (in
/// the ``ClippedAdam``).
public enum PPOUpdate {
    public static let gamma = 0.999
    public static let lambda = 0.95
    public static let clip = 0.2
    public static let valueCoefficient = 0.5

    /// GAE over one episode with rewards `r_l` (all zero but the last) and values `V_l`, `V_L = 0`:
    /// `δ_l = r_l + γ V_{l+1} − V_l`, `A_l = δ_l + γλ A_{l+1}`; returns are `A_l + V_l`.
    public static func advantages(reward: Double, values: [Float]) -> (advantages: [Double], returns: [Double]) {
        let steps = values.count
        var a = [Double](repeating: 0, count: steps)
        var next = 0.0, nextValue = 0.0
        for l in stride(from: steps - 1, through: 0, by: -1) {
            let r = l == steps - 1 ? reward : 0
            let delta = r + gamma * nextValue - Double(values[l])
            next = delta + gamma * lambda * next
            a[l] = next
            nextValue = Double(values[l])
        }
        return (a, zip(a, values).map { $0 + Double($1) })
    }

    /// One PPO epoch over `episodes` in shuffled minibatches of `minibatch`; returns the mean loss.
    @discardableResult
    public static func update(agent: GaussianAgent, optimizer: ClippedAdam, episodes: PPOEpisodes, minibatch: Int,
                              rng: inout RandomGenerator) -> Double {
        let n = episodes.count, steps = episodes.actions.first?.count ?? 0
        guard n > 0, steps > 0 else { return 0 }
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let gae = (0..<n).map { advantages(reward: episodes.rewards[$0], values: episodes.values[$0]) }
        var total = 0.0, batches = 0
        var start = 0
        while start < n {
            let rows = Array(order[start ..< Swift.min(n, start + minibatch)])
            start += minibatch
            let m = rows.count
            var adv = rows.flatMap { gae[$0].advantages }
            let mu = adv.reduce(0, +) / Double(adv.count)
            let sd = (adv.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(Swift.max(adv.count - 1, 1))).squareRoot()
            adv = adv.map { ($0 - mu) / (sd + 1e-8) }
            let a = Tensor(shape: [m, steps], scalars: rows.flatMap { episodes.actions[$0] })
            let oldLog = Tensor(shape: [m, steps], scalars: rows.flatMap { episodes.logProbabilities[$0] })
            let oldValue = Tensor(shape: [m, steps], scalars: rows.flatMap { episodes.values[$0] })
            let ret = Tensor(shape: [m, steps], scalars: rows.flatMap { gae[$0].returns.map(Float.init) })
            let advantage = Tensor(shape: [m, steps], scalars: adv.map(Float.init))
            // Replay the agent over the stored states.
            var h = agent.initialHidden(m)
            var means: [Tensor] = [], logSigmas: [Tensor] = [], values: [Tensor] = []
            for l in 0..<steps {
                let state = episodes.states.map { $0[l].indexSelect(axis: 0, indices: rows) }
                let out = agent.step(layer: l, state: state, budget: episodes.budget, hidden: h)
                means.append(out.mean); logSigmas.append(out.logSigma); values.append(out.value); h = out.hidden
            }
            let mean = Tensor.concat(means, axis: 1), logSigma = Tensor.concat(logSigmas, axis: 1)
            let value = Tensor.concat(values, axis: 1)
            let ratio = (GaussianAgent.logProbability(a, mean: mean, logSigma: logSigma) - oldLog).exp()
            let surrogate1 = ratio * advantage
            let surrogate2 = ratio.clamped(min: 1 - clip, max: 1 + clip) * advantage
            // min(x, y) = (x + y − |x − y|)/2 and max(x, y) = (x + y + |x − y|)/2 (composite, differentiable).
            let policyLoss = -((surrogate1 + surrogate2 - (surrogate1 - surrogate2).abs()) * 0.5).mean()
            let clippedValue = oldValue + (value - oldValue).clamped(min: -clip, max: clip)
            let l1 = (value - ret) * (value - ret), l2 = (clippedValue - ret) * (clippedValue - ret)
            let valueLoss = ((l1 + l2 + (l1 - l2).abs()) * 0.5).mean() * 0.5
            let loss = policyLoss + valueLoss * valueCoefficient + GaussianAgent.rangePenalty(mean)
            let parameters = agent.namedParameters().map(\.parameter)
            let grads = gradients(of: loss, withRespectTo: parameters.map(\.value))
            optimizer.step(grads)
            total += loss.item
            batches += 1
        }
        return total / Double(Swift.max(batches, 1))
    }
}
