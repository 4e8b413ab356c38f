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

    /// Elements per worker below which an update is not split (a few memory passes per element).
    static let parallelMinimum = 1 << 15

    /// Updates each parameter in place: the value is mutated through the parameter (no second
    /// reference, so no copy-on-write copy when the forward graph has been released) and the
    /// momentum buffer is taken out of the dictionary while it is updated (for the same reason).
    /// The loop is split over the thread budget; masked entries (weight and buffer) are then set
    /// to 0 by a select, not a branch, so both loops vectorise.
    public func step() {
        let first = stepCount == 0
        forEachParameter { path, parameter, grad, group in
            let lr = group.learningRate * learningRateFactor
            let dtype = parameter.value.dtype
            let hadBuffer = buffers[path] != nil
            var buffer = buffers.removeValue(forKey: path) ?? .zeros(parameter.value.shape, dtype: dtype)
            let g = grad.detached().cast(to: dtype)
            let mask = parameter.maskForUpdate
            func run<T: TensorScalar>(_: T.Type) {
                let rule = Rule(momentum: T(momentum), damping: T(1 - dampening), weightDecay: T(group.weightDecay),
                                learningRate: T(lr), useMomentum: momentum != 0, nesterov: nesterov,
                                initialise: first || !hadBuffer)
                g.withScalars(T.self) { gs in
                    buffer.withMutableScalars(T.self) { bs in
                        withOptionalScalars(mask, T.self) { ms in
                            parameter.value.withMutableScalars(T.self) { ws in
                                guard ws.count > 0 else { return }
                                nonisolated(unsafe) let w = ws.baseAddress!, b = bs.baseAddress!, g = gs.baseAddress!
                                nonisolated(unsafe) let m = ms?.baseAddress
                                Engine.forRanges(ws.count, minimumPerThread: Self.parallelMinimum) { range in
                                    let (wr, br, n) = (w + range.lowerBound, b + range.lowerBound, range.count)
                                    rule.update(wr, g + range.lowerBound, br, count: n)
                                    guard let mr = m.map({ $0 + range.lowerBound }) else { return }
                                    for i in 0..<n {
                                        let keep = mr[i] != 0
                                        wr[i] = keep ? wr[i] : 0
                                        br[i] = keep ? br[i] : 0
                                    }
                                }
                            }
                        }
                    }
                }
            }
            switch dtype {
            case .float32: run(Float.self)
            case .float64: run(Double.self)
            }
            if momentum != 0 { buffers[path] = buffer }
        }
        stepCount += 1
    }

    /// The update rule with its settings (see the type's doc comment).
    private struct Rule<T: TensorScalar> {
        let momentum: T, damping: T, weightDecay: T, learningRate: T
        let useMomentum: Bool, nesterov: Bool, initialise: Bool

        /// Updates `count` weights and momentum buffers. One plain loop per combination of the
        /// settings, with the settings in locals: a single loop testing them per element (read
        /// back from memory, since the stores might alias them) ran scalar.
        @inline(__always)
        func update(_ w: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ b: UnsafeMutablePointer<T>, count: Int) {
            let (mu, damp, wd, eta) = (momentum, damping, weightDecay, learningRate)
            switch (useMomentum, initialise, nesterov) {
            case (false, _, _):
                for i in 0..<count { w[i] -= eta * (g[i] + wd * w[i]) }
            case (true, true, false):
                for i in 0..<count { let d = g[i] + wd * w[i]; b[i] = d; w[i] -= eta * d }
            case (true, true, true):
                for i in 0..<count { let d = g[i] + wd * w[i]; b[i] = d; w[i] -= eta * (d + mu * d) }
            case (true, false, false):
                for i in 0..<count { let d = g[i] + wd * w[i]; let v = mu * b[i] + damp * d; b[i] = v; w[i] -= eta * v }
            case (true, false, true):
                for i in 0..<count { let d = g[i] + wd * w[i]; let v = mu * b[i] + damp * d; b[i] = v; w[i] -= eta * (d + mu * v) }
            }
        }
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
