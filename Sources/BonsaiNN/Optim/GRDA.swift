/// Generalized regularized dual averaging, gRDA (Chao, Wang, Xing, Cheng, NeurIPS 2020), exactly as
/// the reference `grda_pytorch.py` (METHODS.md §12.2). Per parameter:
///
///     first step: acc ← w,  ℓ ← 0
///     n ← n + 1
///     acc ← acc − γ_n · ∇
///     ℓ ← ℓ + c · γ_n^{μ+½} · (n^μ − (n−1)^μ)     (= c·γ^{μ+½}·n^μ for a constant rate)
///     w ← sign(acc) · max(|acc| − ℓ, 0)
///
/// No momentum and no weight decay. The soft threshold ℓ grows like n^μ while the accumulated gradient
/// noise grows like n^½, so with μ > ½ sparsity keeps rising: pruning as a by-product of the optimizer
/// ("directional pruning"). With c = 0 it is plain SGD. A weight the threshold zeroed can come back
/// when |acc| grows past ℓ — except where a pruning mask is set: there the weight and `acc` stay 0.
public final class GRDA: Optimizer {
    public var groups: [ParameterGroup]
    public var learningRateFactor: Double = 1
    public private(set) var stepCount = 0
    public let c: Double, mu: Double
    private var accumulators: [String: Tensor] = [:]
    private var thresholds: [String: Double] = [:]

    public init(groups: [ParameterGroup], c: Double, mu: Double) throws {
        guard c >= 0, c.isFinite else { throw OptimizerError.invalidSetting(field: "c", detail: "must be ≥ 0, got \(c)") }
        guard mu > 0, mu <= 2 else { throw OptimizerError.invalidSetting(field: "mu", detail: "must be in (0, 2], got \(mu)") }
        try ParameterGroup.validate(groups)
        self.groups = groups
        self.c = c
        self.mu = mu
    }

    public func step() {
        stepCount += 1
        let n = Double(stepCount)
        forEachParameter { path, parameter, grad, group in
            let lr = group.learningRate * learningRateFactor
            var w = parameter.value
            var acc = accumulators[path] ?? w.detached()
            let l = (thresholds[path] ?? 0) + c * powDouble(lr, mu + 0.5) * (powDouble(n, mu) - powDouble(n - 1, mu))
            let g = grad.detached().cast(to: w.dtype)
            let mask = parameter.maskForUpdate
            func run<T: TensorScalar>(_: T.Type) {
                let (eta, threshold) = (T(lr), T(l))
                g.withScalars(T.self) { gs in
                    w.withMutableScalars(T.self) { ws in
                        acc.withMutableScalars(T.self) { accs in
                            withOptionalScalars(mask, T.self) { ms in
                                for i in 0..<ws.count {
                                    if let ms, ms[i] == 0 { ws[i] = 0; accs[i] = 0; continue }
                                    accs[i] -= eta * gs[i]
                                    let magnitude = Swift.abs(accs[i]) - threshold
                                    ws[i] = magnitude > 0 ? (accs[i] < 0 ? -magnitude : magnitude) : 0
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
            accumulators[path] = acc
            thresholds[path] = l
        }
    }

    public func state() -> OptimizerState {
        var tensors: [String: Tensor] = [:]
        for (path, acc) in accumulators {
            tensors["\(path)/accumulator"] = acc
            tensors["\(path)/threshold"] = Tensor(shape: [1], scalars: [thresholds[path] ?? 0])
        }
        return OptimizerState(step: stepCount, tensors: tensors)
    }

    public func load(_ state: OptimizerState) throws {
        var accs: [String: Tensor] = [:], ls: [String: Double] = [:]
        var shapes: [String: [Int]] = [:]
        for group in groups { for (path, p) in group.parameters { shapes[path] = p.shape } }
        for (key, tensor) in state.tensors {
            if key.hasSuffix("/accumulator") {
                let path = String(key.dropLast("/accumulator".count))
                guard shapes[path] == tensor.shape else { throw OptimizerError.stateMismatch(detail: "'\(key)' does not match a parameter") }
                accs[path] = tensor
            } else if key.hasSuffix("/threshold") {
                ls[String(key.dropLast("/threshold".count))] = tensor.item
            } else {
                throw OptimizerError.stateMismatch(detail: "unknown gRDA state '\(key)'")
            }
        }
        accumulators = accs
        thresholds = ls
        stepCount = state.step
    }
}
