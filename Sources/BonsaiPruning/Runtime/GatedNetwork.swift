import Foundation

/// The gates of one conv layer (METHODS.md §13.2, `GatedConv`): the FBS-style dynamic saliency
/// `g_dyn = Linear_{C_in→C_out}(GAP(x))` and a learnable static scalar `s_c` per output channel.
///
/// Initialisation: `gate.bias = 1`, `gate.weight` = PyTorch's Linear init scaled by 0.1, `s = 1`,
/// so the gated layer starts close to the pretrained one (see ``GatedNetwork`` on BN folding).
public final class ChannelGates: Module {
    public let gate: Linear
    public let staticGate: Parameter

    public init(inChannels: Int, outChannels: Int, rng: inout RandomGenerator) {
        gate = Linear(inChannels, outChannels, rng: &rng)
        staticGate = Parameter(.ones([outChannels]), role: .other)
        super.init()
        register(child: "gate", gate)
        register(parameter: "static_gate", staticGate)
        gate.weight.assign(gate.weight.value.detached() * 0.1)
        gate.bias?.assign(.ones([outChannels]))
    }
}

/// A zoo chain (`conv2/4/6`, `vgg11/16`: convs with optional batch norm, ReLU, pools, flatten,
/// linear) whose every conv carries ``ChannelGates``: the network of METHODS.md §13.2 built around
/// the job's own model, which keeps its parameter paths (so static masks are ordinary masks).
///
/// **Layer output.** `y = act( z ⊙ (σ · g_dyn ⊙ g_st ⊙ a_dyn ⊙ a_st) )` with `z = BN(conv(x))`
/// (or `conv(x) + bias` without BN), `a_dyn, a_st ∈ {0,1}^{C_out}` the masks and `σ = −1` where
/// both gates are negative (the reference's sign fix), else 1.
///
/// **Simplifications relative to the reference** (recorded because the pipeline's plain forward
/// must stay a meaningful network: it is what `evaluate()` and the weights artifact use):
/// - BN is *not* folded into the gates (the reference moves γ into the gate bias and β into a
///   `gate_beta`); the gate multiplies the BN output instead, so with all gates at 1 the gated
///   network is exactly the plain one. For a kept channel this is the reference's form with
///   `gate_beta = β·g` instead of a free β; pruned channels are zero either way.
/// - The static saliency used for *ranking* is `s_c · n_c` with `n_c = ‖W_c‖₂ / mean_c ‖W_c‖₂`
///   (the learnable scalar and the filter norm, two of the four inputs of the reference's shared
///   `4 → 100 → SELU → 1` MLP; the filter distance and Taylor inputs are omitted). The *gate*
///   value multiplying the output is `s_c`.
public final class GatedNetwork {
    enum Step {
        case gated(index: Int)
        case plain(any UnaryLayer)
    }

    /// One gated conv: the conv, its batch norm, their module paths and the gates.
    public struct Layer {
        public let conv: Conv2d
        public let norm: BatchNorm?
        public let convPath: String
        public let normPath: String?
        public let gates: ChannelGates
    }

    public let model: any Model
    public let layers: [Layer]
    let steps: [Step]
    /// All gate parameters, in a module of their own (`0.gate.weight`, `0.static_gate`, …).
    public let gateModule: Module
    /// Geometry for the budget arithmetic (from a probe forward of one zero input).
    public let budget: RuntimeBudget

    /// Wraps `model`, whose input images are `[channels, height, width]`.
    public init(model: any Model, inputShape: [Int], seed: UInt64) throws {
        let flat: [any UnaryLayer]
        if let net = model as? ConvNet {
            flat = net.features.layers + [Flatten() as any UnaryLayer] + net.classifier.layers
        } else if let seq = model as? Sequential {
            flat = seq.layers
        } else {
            throw PruningError.unsupportedModel(method: "runtime-channel-rl",
                                                detail: "needs a conv chain (conv2/4/6, vgg11/16), got \(type(of: model))")
        }
        var paths: [ObjectIdentifier: String] = [:]
        for (path, module) in model.namedModules() { paths[ObjectIdentifier(module)] = path }
        var rng = RandomGenerator(seed: seed ^ 0x5EED_6A7E)
        var layers: [Layer] = [], steps: [Step] = []
        var i = 0
        while i < flat.count {
            let layer = flat[i]
            if let conv = layer as? Conv2d {
                guard conv.groups == 1 else {
                    throw PruningError.unsupportedModel(method: "runtime-channel-rl", detail: "grouped convolution")
                }
                let norm = i + 1 < flat.count ? flat[i + 1] as? BatchNorm : nil
                let gates = ChannelGates(inChannels: conv.inChannels, outChannels: conv.outChannels, rng: &rng)
                layers.append(Layer(conv: conv, norm: norm, convPath: paths[ObjectIdentifier(conv)] ?? "",
                                    normPath: norm.flatMap { paths[ObjectIdentifier($0)] }, gates: gates))
                steps.append(.gated(index: layers.count - 1))
                i += norm == nil ? 1 : 2
                continue
            }
            guard layer is ReLU || layer is MaxPool2d || layer is GlobalAvgPool || layer is Flatten || layer is Linear else {
                throw PruningError.unsupportedModel(method: "runtime-channel-rl", detail: "layer \(type(of: layer)) in the chain")
            }
            steps.append(.plain(layer))
            i += 1
        }
        guard !layers.isEmpty else {
            throw PruningError.unsupportedModel(method: "runtime-channel-rl", detail: "the model has no conv layer to gate")
        }
        let module = Module()
        for (l, layer) in layers.enumerated() { module.register(child: "\(l)", layer.gates) }
        self.model = model
        self.layers = layers
        self.steps = steps
        self.gateModule = module
        // Probe the output sizes.
        var shapes: [GatedLayerShape] = []
        Engine.withoutGrad {
            var x = Tensor.zeros([1] + inputShape)
            for step in steps {
                switch step {
                case let .gated(index):
                    x = layers[index].conv.forward(x, context: .evaluation)
                    let c = layers[index].conv
                    shapes.append(GatedLayerShape(inChannels: c.inChannels, outChannels: c.outChannels,
                                                  kernelArea: c.kernel * c.kernel, outputPositions: x.shape[2] * x.shape[3]))
                case let .plain(layer):
                    x = layer.forward(x, context: .evaluation)
                }
            }
        }
        budget = RuntimeBudget(layers: shapes)
    }

    /// Base-network parameters (the model's) and gate parameters.
    public var baseParameters: [(path: String, parameter: Parameter)] { model.namedParameters() }
    public var gateParameters: [(path: String, parameter: Parameter)] { gateModule.namedParameters() }

    /// The static ranking saliency `s_c · ‖W_c‖ / mean ‖W‖` of layer `l`.
    public func staticSaliency(_ l: Int) -> [Float] {
        let w = Engine.withoutGrad { layers[l].conv.weight.effective.floats }
        let s = layers[l].gates.staticGate.value.floats
        let c = s.count, row = w.count / c
        var norms = [Float](repeating: 0, count: c)
        for j in 0..<c {
            var sum: Float = 0
            for i in j * row ..< (j + 1) * row { sum += w[i] * w[i] }
            norms[j] = sum.squareRoot()
        }
        let mean = Swift.max(norms.reduce(0, +) / Float(c), 1e-12)
        return (0..<c).map { s[$0] * norms[$0] / mean }
    }

    /// What the gated forward asks at each gated layer: given the layer index, the pooled input
    /// `GAP(x)` `[N, C_in]` and the dynamic gate values `[N, C_out]` (both detached), the static
    /// mask (`[C_out]`) and each input's dynamic mask (`N × [C_out]`, a subset of the static one).
    public typealias Controller = (_ layer: Int, _ pooled: Tensor, _ gates: Tensor) -> (staticMask: [Bool], dynamic: [[Bool]])

    /// The gated forward with the masks the controller picks (gradients reach the base network and
    /// the gates when grad mode is on). Returns the logits and each input's kept channel counts.
    public func forward(_ x: Tensor, context: ForwardContext, controller: Controller) -> (logits: Tensor, kept: [[Int]]) {
        var x = x
        let n = x.shape[0]
        var kept = [[Int]](repeating: [], count: n)
        for step in steps {
            switch step {
            case let .plain(layer):
                x = layer.forward(x, context: context)
            case let .gated(l):
                let layer = layers[l]
                let pooled = x.mean(axes: [2, 3])
                let gDyn = layer.gates.gate.forward(pooled, context: context)
                let decision = controller(l, pooled.detached(), gDyn.detached())
                let c = layer.conv.outChannels
                var active = [Float](repeating: 0, count: n * c)
                var sign = [Float](repeating: 1, count: n * c)
                let g = gDyn.detached().floats, s = layer.gates.staticGate.value.floats
                for i in 0..<n {
                    var count = 0
                    for j in 0..<c {
                        if decision.staticMask[j] && decision.dynamic[i][j] { active[i * c + j] = 1; count += 1 }
                        if g[i * c + j] < 0 && s[j] < 0 { sign[i * c + j] = -1 }
                    }
                    kept[i].append(count)
                }
                let factor = Tensor(shape: [n, c], scalars: zip(active, sign).map { $0 * $1 }).cast(to: x.dtype)
                let gate = (gDyn * layer.gates.staticGate.value.reshaped([1, c]) * factor).reshaped([n, c, 1, 1])
                var z = layer.conv.forward(x, context: context)
                if let norm = layer.norm { z = norm.forward(z, context: context) }
                x = z * gate
            }
        }
        return (x, kept)
    }
}
