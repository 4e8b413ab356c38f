/// What a parameter is for. Pruning methods use it to find the prunable set (METHODS.md §0.1:
/// conv and linear weights; never biases or normalisation parameters).
public enum ParameterRole: String, Sendable, Codable {
    case convWeight, linearWeight, bias, normWeight, normBias, embedding, attentionWeight, other

    /// True for the weights pruning acts on by default.
    public var isPrunableByDefault: Bool {
        self == .convWeight || self == .linearWeight || self == .attentionWeight
    }
}

/// A trainable tensor owned by a module, with an optional pruning mask.
///
/// The value is a leaf of the autograd graph; the optimizer updates it in place (copy-on-write keeps
/// any graph that still references the old data intact) so the leaf, and the gradient it
/// accumulates, keep their identity across steps. When a ``mask`` is set, forward passes use
/// ``effective`` = `value ⊙ mask`, so masked entries contribute nothing and receive exactly zero
/// gradient; the optimizers also keep the masked entries and their state at zero.
public final class Parameter: @unchecked Sendable {
    public var value: Tensor
    public let role: ParameterRole
    /// A 0/1 tensor of the value's shape, or nil for a dense parameter.
    public var mask: Tensor? {
        didSet {
            if let mask {
                precondition(mask.shape == value.shape, "Parameter.mask: mask \(mask.shape) for value \(value.shape)")
            }
        }
    }
    /// False freezes the parameter (no gradient is computed for it).
    public var trainable: Bool {
        didSet { value = trainable ? value.detached().requiringGrad() : value.detached() }
    }

    public init(_ value: Tensor, role: ParameterRole, trainable: Bool = true) {
        self.value = trainable ? value.detached().requiringGrad() : value.detached()
        self.role = role
        self.trainable = trainable
    }

    /// A differentiable re-parameterisation of the weight forward passes use, applied before the mask:
    /// score-based methods (edge-popup, HYDRA, movement pruning) set `w ↦ w ⊙ STE(scores)` here so the
    /// gradient reaches their score tensors through the ordinary layers.
    public var reparameterization: ((Tensor) -> Tensor)?

    /// The tensor forward passes use: the (re-parameterised) value, masked when a mask is set.
    public var effective: Tensor {
        let w = reparameterization?(value) ?? value
        guard let mask else { return w }
        return w.masked(by: mask)
    }

    public var shape: [Int] { value.shape }
    public var grad: Tensor? { value.grad }
    public func zeroGrad() { value.zeroGrad() }

    /// Replaces the data (same shape), keeping the leaf's identity and accumulated gradient.
    public func assign(_ data: Tensor) {
        precondition(data.shape == value.shape, "Parameter.assign: shape \(data.shape) for \(value.shape)")
        let converted = data.detached().cast(to: value.dtype)
        var updated = value
        updated.overwrite(with: converted)
        value = updated
    }

    /// Sets the value to `value ⊙ mask` (a no-op without a mask).
    public func applyMask() {
        guard let mask else { return }
        assign(Engine.withoutGrad { value.detached().masked(by: mask) })
    }
}

/// A non-trainable state tensor (batch-norm running statistics) or counter, saved in state dicts.
public final class Buffer: @unchecked Sendable {
    public enum Value: Sendable {
        case tensor(Tensor)
        /// An integer scalar such as PyTorch's `num_batches_tracked` (stored as I64).
        case count(Int)
    }
    public var value: Value

    public init(_ value: Value) { self.value = value }

    public var tensor: Tensor? {
        get { if case let .tensor(t) = value { return t } else { return nil } }
        set { if let newValue { value = .tensor(newValue) } }
    }
}
