/// Adam (Kingma & Ba) and AdamW (Loshchilov & Hutter), exactly as PyTorch's `torch.optim.Adam` and
/// `AdamW`:
///
///     Adam:  g ← ∇ + λ·w                 AdamW: w ← w·(1 − η·λ), g ← ∇
///     m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²
///     w ← w − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
public final class Adam: Optimizer {
    public var groups: [ParameterGroup]
    public var learningRateFactor: Double = 1
    public private(set) var stepCount = 0
    public let beta1: Double, beta2: Double, epsilon: Double
    /// Decoupled weight decay (AdamW) instead of L2 added to the gradient (Adam).
    public let decoupled: Bool
    private var moments: [String: (m: Tensor, v: Tensor)] = [:]

    public init(groups: [ParameterGroup], beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                decoupled: Bool = false) throws {
        guard (0..<1).contains(beta1), (0..<1).contains(beta2) else {
            throw OptimizerError.invalidSetting(field: "betas", detail: "must be in [0, 1), got (\(beta1), \(beta2))")
        }
        guard epsilon > 0 else { throw OptimizerError.invalidSetting(field: "eps", detail: "must be > 0") }
        try ParameterGroup.validate(groups)
        self.groups = groups
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.decoupled = decoupled
    }

    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let correction1 = 1 - powDouble(beta1, t), correction2 = 1 - powDouble(beta2, t)
        forEachParameter { path, parameter, grad, group in
            let lr = group.learningRate * learningRateFactor
            var w = parameter.value
            var (m, v) = moments[path] ?? (.zeros(w.shape, dtype: w.dtype), .zeros(w.shape, dtype: w.dtype))
            let g = grad.detached().cast(to: w.dtype)
            let mask = parameter.maskForUpdate
            func run<T: TensorScalar>(_: T.Type) {
                let b1 = T(beta1), b2 = T(beta2), eps = T(epsilon), wd = T(group.weightDecay)
                let stepSize = T(lr / correction1), rootCorrection2 = T(correction2.squareRoot())
                let decay = T(1 - lr * group.weightDecay), decoupled = self.decoupled
                g.withScalars(T.self) { gs in
                    w.withMutableScalars(T.self) { ws in
                        m.withMutableScalars(T.self) { ms in
                            v.withMutableScalars(T.self) { vs in
                              withOptionalScalars(mask, T.self) { keep in
                                for i in 0..<ws.count {
                                    if let keep, keep[i] == 0 { ws[i] = 0; ms[i] = 0; vs[i] = 0; continue }
                                    var d = gs[i]
                                    if decoupled { ws[i] *= decay } else { d += wd * ws[i] }
                                    ms[i] = b1 * ms[i] + (1 - b1) * d
                                    vs[i] = b2 * vs[i] + (1 - b2) * d * d
                                    ws[i] -= stepSize * ms[i] / (T.sqrt(vs[i]) / rootCorrection2 + eps)
                                }
                              }
                            }
                        }
                    }
                }
            }
            switch w.dtype {
            case .float32: run(Float.self)
            case .float64: run(Double.self)
            }
            parameter.value = w
            moments[path] = (m, v)
        }
    }

    public func state() -> OptimizerState {
        var tensors: [String: Tensor] = [:]
        for (path, mv) in moments {
            tensors["\(path)/exp_avg"] = mv.m
            tensors["\(path)/exp_avg_sq"] = mv.v
        }
        return OptimizerState(step: stepCount, tensors: tensors)
    }

    public func load(_ state: OptimizerState) throws {
        let restored = try SlotStore.restore(state.tensors, groups: groups, slotNames: ["exp_avg", "exp_avg_sq"])
        var result: [String: (m: Tensor, v: Tensor)] = [:]
        for (key, m) in restored where key.hasSuffix("/exp_avg") {
            let path = String(key.dropLast("/exp_avg".count))
            guard let v = restored["\(path)/exp_avg_sq"] else {
                throw OptimizerError.stateMismatch(detail: "'\(path)' has exp_avg but no exp_avg_sq")
            }
            result[path] = (m, v)
        }
        moments = result
        stepCount = state.step
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func powDouble(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
#endif
