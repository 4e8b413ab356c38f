/// A vertex of the autograd graph: the op that produced a tensor (its inputs and what the backward
/// rule needs), or a leaf (a parameter or an input whose gradient is wanted).
///
/// Leaves accumulate gradients across backward passes in ``grad`` (PyTorch semantics: call
/// ``Tensor/zeroGrad()`` between steps, or accumulate on purpose over micro-batches).
final class GradNode: @unchecked Sendable {
    /// Mutated only in `deinit`'s teardown, on nodes nothing else references.
    private(set) var op: Op
    let shape: [Int]
    let dtype: DType
    /// Accumulated gradient (leaves only).
    var grad: Tensor?

    init(op: Op, shape: [Int], dtype: DType) {
        self.op = op
        self.shape = shape
        self.dtype = dtype
    }

    var isLeaf: Bool { if case .leaf = op { return true } else { return false } }

    /// Releases the graph below this node iteratively. The default release is recursive (node →
    /// op → input tensor → node …), one stack frame chain per level, so dropping a graph a few tens
    /// of thousands of ops deep overflowed the stack. Here every input node that only this graph
    /// holds has its own inputs taken first, so each release is shallow.
    deinit {
        var pending = takeInputNodes()
        while var node = pending.popLast() {
            if isKnownUniquelyReferenced(&node) { pending.append(contentsOf: node.takeInputNodes()) }
        }
    }

    /// The nodes of this node's inputs; the op is replaced by `.leaf` so releasing it recurses no further.
    private func takeInputNodes() -> [GradNode] {
        if isLeaf { return [] }
        let nodes = op.inputs.compactMap(\.node)
        op = .leaf
        return nodes
    }
}

extension Tensor {
    /// True when gradients flow to or through this tensor.
    public var requiresGrad: Bool { node != nil }

    /// True for a tensor made by ``requiringGrad()`` (a parameter or an input being differentiated).
    public var isLeaf: Bool { node?.isLeaf ?? false }

    /// This tensor as a new leaf of the graph: its gradient will be computed and accumulated.
    /// The data is shared, not copied.
    public func requiringGrad() -> Tensor {
        var copy = self
        copy.node = GradNode(op: .leaf, shape: shape, dtype: dtype)
        return copy
    }

    /// The same data outside any graph.
    public func detached() -> Tensor {
        var copy = self
        copy.node = nil
        return copy
    }

    /// The gradient accumulated in this leaf by ``backward()``, if any.
    public var grad: Tensor? { node?.grad }

    /// Clears this leaf's accumulated gradient.
    public func zeroGrad() { node?.grad = nil }

    /// Attaches `op` as this result's producer when gradient recording is on and any input needs a
    /// gradient. Every op's forward ends with this call.
    func recording(_ op: @autoclosure () -> Op, inputs: [Tensor]) -> Tensor {
        guard Engine.isGradEnabled, inputs.contains(where: { $0.node != nil }) else { return self }
        var copy = self
        copy.node = GradNode(op: op(), shape: shape, dtype: dtype)
        return copy
    }
}
