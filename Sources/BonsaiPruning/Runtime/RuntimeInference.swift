import Foundation

/// Runtime inference that really skips the gated channels: for each input, every gated conv
/// computes only its kept output channels, from only the kept channels of its input.
///
/// Per input and gated layer `l` (input held compactly as `[1, k_{l−1}, H, W]` with the indices
/// `K_{l−1}` of its channels in the full layer input):
/// 1. `GAP` of the kept input channels, scattered into a `C_{l−1}` vector (the dropped channels
///    are exactly zero in the masked dense network, so this is its pooled input);
/// 2. the dynamic gate `g_dyn` and the agents' decision (means, no sampling) give `K_l`;
/// 3. the conv runs with the gathered filters `W[K_l][:, K_{l−1}]` (`k_l × k_{l−1} × k × k`): an
///    im2col GEMM over the kept filters only; batch norm and the gate act on the kept channels;
/// 4. the per-channel layers after it (ReLU, pools) run on the compact tensor; the first linear
///    layer after the convs reads only the columns of the kept channels (block `H·W` after flatten).
///
/// The result equals the masked dense forward of ``GatedNetwork`` (tested to 1e-4). MACs counted:
/// conv `Ho·Wo·k²·k_{l−1}·k_l` plus linear `in·out` (over the columns actually read), and
/// separately the gating overhead (gate linear `C_{l−1}·C_l` and the agent's matrix products).
public struct RuntimeInference {
    public let network: GatedNetwork
    public let policy: RuntimePolicy

    public init(network: GatedNetwork, policy: RuntimePolicy) {
        self.network = network
        self.policy = policy
    }

    public struct Output {
        public var logits: Tensor
        /// MACs of the convs and linear layers actually executed.
        public var macs: Int
        /// MACs of the gates and the dynamic agent.
        public var overheadMACs: Int
        /// Kept output channels per gated layer.
        public var kept: [Int]
    }

    /// Dense MACs per input of the convs and linear layers (no masks, no gates).
    public var denseMACs: Int {
        var macs = 0
        for step in network.steps {
            switch step {
            case let .gated(l):
                let shape = network.budget.layers[l]
                macs += shape.macsPerPair * shape.inChannels * shape.outChannels
            case let .plain(layer):
                if let fc = layer as? Linear { macs += fc.inFeatures * fc.outFeatures }
            }
        }
        return macs
    }

    /// Runs one input `[1, C, H, W]`.
    public func run(_ input: Tensor) -> Output {
        precondition(input.rank == 4 && input.shape[0] == 1, "RuntimeInference.run: one input [1, C, H, W], got \(input.shape)")
        return Engine.withoutGrad {
            policy.sample = false
            policy.begin(inputs: 1)
            let controller = policy.controller
            var x = input
            var keptIn: [Int]? = Array(0..<input.shape[1])
            var fullWidth = input.shape[1]
            var macs = 0, overhead = 0
            var kept: [Int] = []
            for step in network.steps {
                switch step {
                case let .gated(l):
                    let layer = network.layers[l], conv = layer.conv
                    let inIndices = keptIn ?? Array(0..<fullWidth)
                    let compactPooled = x.mean(axes: [2, 3]).floats
                    var pooled = [Float](repeating: 0, count: conv.inChannels)
                    for (i, j) in inIndices.enumerated() { pooled[j] = compactPooled[i] }
                    let pooledTensor = Tensor(shape: [1, conv.inChannels], scalars: pooled).cast(to: x.dtype)
                    let g = layer.gates.gate.forward(pooledTensor, context: .evaluation)
                    let decision = controller(l, pooledTensor, g)
                    let out = (0..<conv.outChannels).filter { decision.staticMask[$0] && decision.dynamic[0][$0] }
                    overhead += conv.inChannels * conv.outChannels + agentMACs(l)
                    let gv = g.floats, s = layer.gates.staticGate.value.floats
                    let factor = out.map { j -> Float in (gv[j] < 0 && s[j] < 0 ? -1 : 1) * gv[j] * s[j] }
                    let weight = conv.weight.effective.indexSelect(axis: 0, indices: out).indexSelect(axis: 1, indices: inIndices)
                    let bias = conv.bias.map { $0.effective.indexSelect(axis: 0, indices: out) }
                    var z = conv2d(x, weight: weight, bias: bias, stride: conv.stride, padding: conv.padding)
                    if let norm = layer.norm {
                        z = batchNormInference(z, weight: norm.weight.effective.indexSelect(axis: 0, indices: out),
                                               bias: norm.bias.effective.indexSelect(axis: 0, indices: out),
                                               runningMean: (norm.runningMean.tensor ?? .zeros([norm.channels])).indexSelect(axis: 0, indices: out),
                                               runningVar: (norm.runningVar.tensor ?? .ones([norm.channels])).indexSelect(axis: 0, indices: out),
                                               eps: norm.eps)
                    }
                    x = z * Tensor(shape: [1, out.count, 1, 1], scalars: factor).cast(to: z.dtype)
                    macs += z.shape[2] * z.shape[3] * conv.kernel * conv.kernel * inIndices.count * out.count
                    keptIn = out
                    fullWidth = conv.outChannels
                    kept.append(out.count)
                case let .plain(layer):
                    if let fc = layer as? Linear {
                        var weight = fc.weight.effective
                        if let channels = keptIn {
                            // The first linear after the convs: read only the kept channels' columns.
                            let block = fc.inFeatures / fullWidth
                            let columns = channels.flatMap { j in Array(j * block ..< (j + 1) * block) }
                            weight = weight.indexSelect(axis: 1, indices: columns)
                            keptIn = nil
                        }
                        x = linear(x, weight: weight, bias: fc.bias?.effective)
                        macs += weight.shape[0] * weight.shape[1]
                    } else {
                        x = layer.forward(x, context: .evaluation)
                    }
                }
            }
            return Output(logits: x, macs: macs, overheadMACs: overhead, kept: kept)
        }
    }

    /// MACs of the dynamic agent's step at layer `l` (encoder, RNN, heads).
    func agentMACs(_ l: Int) -> Int {
        let agent = policy.dynamicAgent
        let h = agent.hidden
        return agent.encoders[l].inFeatures * h + (h + 1) * h + h * h + 3 * h
    }
}
