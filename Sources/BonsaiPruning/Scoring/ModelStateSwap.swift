/// Temporarily replaces a model's parameter values, masks and buffers for scoring, and puts the
/// originals back.
///
/// Scorers for pruning at initialisation evaluate the network in a changed state: SynFlow on
/// `|θ|` in Float64 with the running statistics made positive, GraSP with the linear layers
/// re-initialised and the weights shifted for a finite-difference Hessian-vector product, SNIP with
/// BN batch statistics that must not leak into the running buffers. Every such change goes through
/// this type, so ``restore()`` returns the model exactly (the same leaf tensors, so optimizer and
/// gradient bookkeeping keep their identity) to what it was.
///
/// ```swift
/// let swap = ModelStateSwap(model)
/// defer { swap.restore() }
/// swap.setValue(of: parameter, to: parameter.value.abs().cast(to: .float64))
/// ```
public final class ModelStateSwap {
    private let parameters: [(parameter: Parameter, value: Tensor, mask: Tensor?)]
    private let buffers: [(buffer: Buffer, value: Buffer.Value)]
    private var restored = false

    public init(_ model: Module) {
        parameters = model.namedParameters().map { ($0.parameter, $0.parameter.value, $0.parameter.mask) }
        buffers = model.namedBuffers().map { ($0.buffer, $0.buffer.value) }
    }

    /// Makes `value` the parameter's tensor as is: a fresh leaf (call `requiringGrad()` first when
    /// gradients are wanted) or any expression of other tensors (e.g. `w ⊙ c` with a differentiable
    /// gate `c`, through which gradients then flow to `c`).
    public func setValue(of parameter: Parameter, to value: Tensor) {
        precondition(value.shape == parameter.shape, "ModelStateSwap.setValue: shape \(value.shape) for parameter \(parameter.shape)")
        parameter.value = value
    }

    /// Every parameter as `|θ|` in `dtype`, a leaf requiring grad; every tensor buffer (BN running
    /// mean and variance) as its absolute value in `dtype` (SynFlow's "linearise", METHODS.md §4.2).
    public func linearize(dtype: DType) {
        Engine.withoutGrad {
            for (parameter, value, _) in parameters {
                parameter.value = value.detached().abs().cast(to: dtype).detached().requiringGrad()
            }
            for (buffer, value) in buffers {
                if case let .tensor(t) = value { buffer.value = .tensor(t.abs().cast(to: dtype).detached()) }
            }
        }
    }

    /// Every parameter's value cast to `dtype` (a leaf requiring grad, like the original), and the
    /// tensor buffers too.
    public func cast(to dtype: DType) {
        Engine.withoutGrad {
            for (parameter, value, _) in parameters {
                parameter.value = value.detached().cast(to: dtype).detached().requiringGrad()
            }
            for (buffer, value) in buffers {
                if case let .tensor(t) = value { buffer.value = .tensor(t.cast(to: dtype).detached()) }
            }
        }
    }

    /// Puts back the original values, masks and buffers. Idempotent.
    public func restore() {
        guard !restored else { return }
        restored = true
        for (parameter, value, mask) in parameters {
            parameter.value = value
            parameter.mask = mask
        }
        for (buffer, value) in buffers { buffer.value = value }
    }
}

extension ModelInput {
    /// Dense input converted to `dtype` (token ids are left as they are).
    func cast(to dtype: DType) -> ModelInput {
        switch self {
        case let .dense(t): return .dense(t.cast(to: dtype).detached())
        case .tokens: return self
        }
    }
}
