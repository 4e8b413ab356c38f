/// A model's full state (parameters, float buffers and counters) as plain tensors, so it can sit in
/// ``PipelineContext/stash`` (which survives a resume) and be loaded back: the θ₀ / θ_k a lottery
/// ticket rewinds to, or the weights of a fresh initialisation.
///
/// Counters (BatchNorm's `num_batches_tracked`) are stored as one-element float tensors, which
/// `loadStateDict` accepts.
public struct ModelState {
    public var tensors: [String: Tensor]

    public init(tensors: [String: Tensor]) { self.tensors = tensors }

    /// Captures `model`'s current state.
    public init(_ model: Module) {
        var tensors: [String: Tensor] = [:]
        for (key, value) in model.stateDict() {
            switch value {
            case let .tensor(t): tensors[key] = t
            case let .int64(values, _): tensors[key] = Tensor(shape: [], scalars: [Double(values.first ?? 0)])
            default: break
            }
        }
        self.tensors = tensors
    }

    /// Loads the state into `model` and re-applies its masks (masked entries stay exactly zero).
    public func load(into model: Module) throws {
        try model.loadStateDict(tensors)
        for (_, parameter) in model.namedParameters() { parameter.applyMask() }
    }

    /// The state stored under `prefix` in a stash (nil when absent).
    public init?(stash: [String: Tensor], prefix: String) {
        var tensors: [String: Tensor] = [:]
        for (key, value) in stash where key.hasPrefix(prefix) { tensors[String(key.dropFirst(prefix.count))] = value }
        if tensors.isEmpty { return nil }
        self.tensors = tensors
    }

    /// Writes the state into a stash under `prefix`.
    public func store(in stash: inout [String: Tensor], prefix: String) {
        for (key, value) in tensors { stash[prefix + key] = value }
    }
}
