/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
/// exactly PyTorch's `torch.optim.SGD`:
///
///     g ← ∇ + λ·w
///     b ← g (first step) or μ·b + (1 − τ)·g
///     g ← g + μ·b (Nesterov) or b
///     w ← w − η·g
public final class SGD: Optimizer {
    public var groups: [ParameterGroup]
    public var learningRateFactor: Double = 1
    public private(set) var stepCount = 0
    public let momentum: Double, dampening: Double, nesterov: Bool
    private var buffers: [String: Tensor] = [:]

    public init(groups: [ParameterGroup], momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false) throws {
        guard momentum >= 0, momentum < 1 else { throw OptimizerError.invalidSetting(field: "momentum", detail: "must be in [0, 1), got \(momentum)") }
        guard !nesterov || (momentum > 0 && dampening == 0) else {
            throw OptimizerError.invalidSetting(field: "nesterov", detail: "needs momentum > 0 and dampening 0")
        }
        try ParameterGroup.validate(groups)
        self.groups = groups
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
    }

    public func step() {
        let first = stepCount == 0
        forEachParameter { path, parameter, grad, group in
            let lr = group.learningRate * learningRateFactor
            var w = parameter.value
            var buffer = buffers[path] ?? .zeros(w.shape, dtype: w.dtype)
            let hadBuffer = buffers[path] != nil
            let g = grad.detached().cast(to: w.dtype)
            let mask = parameter.maskForUpdate
            func run<T: TensorScalar>(_: T.Type) {
                let (mu, damp, wd, eta) = (T(momentum), T(1 - dampening), T(group.weightDecay), T(lr))
                let useMomentum = momentum != 0, nesterov = self.nesterov, initialise = first || !hadBuffer
                g.withScalars(T.self) { gs in
                    w.withMutableScalars(T.self) { ws in
                        buffer.withMutableScalars(T.self) { bs in
                          withOptionalScalars(mask, T.self) { ms in
                            for i in 0..<ws.count {
                                if let ms, ms[i] == 0 { ws[i] = 0; bs[i] = 0; continue }
                                var d = gs[i] + wd * ws[i]
                                if useMomentum {
                                    bs[i] = initialise ? d : mu * bs[i] + damp * d
                                    d = nesterov ? d + mu * bs[i] : bs[i]
                                }
                                ws[i] -= eta * d
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
            if momentum != 0 { buffers[path] = buffer }
        }
        stepCount += 1
    }

    public func state() -> OptimizerState {
        OptimizerState(step: stepCount, tensors: Dictionary(uniqueKeysWithValues: buffers.map { ("\($0.key)/momentum_buffer", $0.value) }))
    }

    public func load(_ state: OptimizerState) throws {
        let restored = try SlotStore.restore(state.tensors, groups: groups, slotNames: ["momentum_buffer"])
        buffers = Dictionary(uniqueKeysWithValues: restored.map { (String($0.key.dropLast("/momentum_buffer".count)), $0.value) })
        stepCount = state.step
    }
}
