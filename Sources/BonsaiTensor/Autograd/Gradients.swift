/// Reverse-mode differentiation: ``Tensor/backward(seed:)`` accumulates into leaves, and
/// ``gradients(of:withRespectTo:seed:)`` returns gradients without touching them.
extension Tensor {
    /// Back-propagates from this tensor and adds `d self / d leaf` to every reachable leaf's
    /// ``grad`` (accumulating over calls, as PyTorch does). A non-scalar needs a `seed` of its shape.
    public func backward(seed: Tensor? = nil) {
        Autograd.run(from: self, seed: seed, capture: []) { node, grad in
            if node.isLeaf { node.grad = node.grad.map { $0 + grad } ?? grad }
        }
    }
}

/// The gradients of `output` with respect to each of `inputs` (leaves, or intermediate tensors of
/// the same graph), as a list in the same order. An input that `output` does not depend on gets
/// zeros. Leaves' accumulated ``Tensor/grad`` values are left as they were.
public func gradients(of output: Tensor, withRespectTo inputs: [Tensor], seed: Tensor? = nil) -> [Tensor] {
    let wanted = inputs.compactMap(\.node).map(ObjectIdentifier.init)
    var found: [ObjectIdentifier: Tensor] = [:]
    Autograd.run(from: output, seed: seed, capture: Set(wanted)) { node, grad in
        let id = ObjectIdentifier(node)
        found[id] = found[id].map { $0 + grad } ?? grad
    }
    return inputs.map { input in
        input.node.flatMap { found[ObjectIdentifier($0)] } ?? Tensor.zeros(input.shape, dtype: input.dtype)
    }
}

/// The Hessian-vector product `H·v` of `loss` at `parameters` by a central difference of gradients:
///
///     H·v ≈ (∇L(θ + h·v) − ∇L(θ − h·v)) / 2h,   h = ε·(1 + ‖θ‖) / ‖v‖
///
/// with ε ≈ u^{1/3} (u the unit round-off of the dtype) balancing truncation error O(h²) against
/// rounding error O(u/h). GraSP scores need `H·g`. `loss` must rebuild the graph from the tensors it
/// is given (which are leaves requiring grad).
public func hessianVectorProduct(at parameters: [Tensor], direction: [Tensor], epsilon: Double? = nil,
                                 loss: ([Tensor]) -> Tensor) -> [Tensor] {
    precondition(parameters.count == direction.count, "hessianVectorProduct: \(parameters.count) parameters, \(direction.count) directions")
    let dtype = parameters.first?.dtype ?? .float32
    let eps = epsilon ?? (dtype == .float64 ? 6e-6 : 5e-3)
    let (thetaNorm, vNorm) = Engine.withoutGrad {
        (parameters.map { ($0 * $0).sum().item }.reduce(0, +).squareRoot(),
         direction.map { ($0 * $0).sum().item }.reduce(0, +).squareRoot())
    }
    guard vNorm > 0 else { return parameters.map { Tensor.zeros($0.shape, dtype: $0.dtype) } }
    let h = eps * (1 + thetaNorm) / vNorm
    func gradient(at sign: Double) -> [Tensor] {
        let shifted = Engine.withoutGrad {
            zip(parameters, direction).map { ($0.detached() + $1.detached().scaled(by: sign * h)).requiringGrad() }
        }
        return Engine.withGrad { gradients(of: loss(shifted), withRespectTo: shifted) }
    }
    let plus = gradient(at: 1), minus = gradient(at: -1)
    return Engine.withoutGrad { zip(plus, minus).map { ($0 - $1).scaled(by: 1 / (2 * h)) } }
}

enum Autograd {
    /// Walks the graph below `output` in reverse topological order, calling `deliver` for every leaf
    /// (and for every node in `capture`) with its total gradient.
    static func run(from output: Tensor, seed: Tensor?, capture: Set<ObjectIdentifier>,
                    deliver: (GradNode, Tensor) -> Void) {
        guard let root = output.node else { return }
        let start: Tensor
        if let seed {
            precondition(seed.shape == output.shape, "backward: seed shape \(seed.shape) differs from output shape \(output.shape)")
            start = seed.detached().cast(to: output.dtype)
        } else {
            precondition(output.count == 1, "backward: output of shape \(output.shape) is not a scalar; pass a seed")
            start = Tensor.ones(output.shape, dtype: output.dtype)
        }
        let order = topologicalOrder(from: root)
        Engine.withoutGrad {
            var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): start]
            for node in order.reversed() {
                let id = ObjectIdentifier(node)
                guard let grad = pending.removeValue(forKey: id) else { continue }
                if node.isLeaf || capture.contains(id) { deliver(node, grad) }
                if node.isLeaf { continue }
                let inputs = node.op.inputs
                let needs = inputs.map { $0.node != nil }
                let inputGrads = node.op.backward(grad: grad, needs: needs)
                precondition(inputGrads.count == inputs.count, "backward rule of \(node.op.name) returned \(inputGrads.count) gradients for \(inputs.count) inputs")
                for (input, inputGrad) in zip(inputs, inputGrads) {
                    guard let inputNode = input.node, let inputGrad else { continue }
                    precondition(inputGrad.shape == inputNode.shape,
                                 "backward rule of \(node.op.name) gave gradient \(inputGrad.shape) for input \(inputNode.shape)")
                    let key = ObjectIdentifier(inputNode)
                    if var sum = pending.removeValue(forKey: key) {
                        sum.accumulate(inputGrad)  // in place: no third buffer per fan-in
                        pending[key] = sum
                    } else {
                        pending[key] = inputGrad
                    }
                }
            }
        }
    }

    /// Nodes reachable from `root`, each after all of its inputs (iterative depth-first search, so
    /// deep graphs cannot overflow the stack).
    static func topologicalOrder(from root: GradNode) -> [GradNode] {
        var order: [GradNode] = []
        var visited: Set<ObjectIdentifier> = [ObjectIdentifier(root)]
        var stack: [(node: GradNode, inputs: [GradNode], next: Int)] = [(root, root.op.inputs.compactMap(\.node), 0)]
        while !stack.isEmpty {
            let top = stack.count - 1
            if stack[top].next < stack[top].inputs.count {
                let child = stack[top].inputs[stack[top].next]
                stack[top].next += 1
                if visited.insert(ObjectIdentifier(child)).inserted {
                    stack.append((child, child.op.inputs.compactMap(\.node), 0))
                }
            } else {
                order.append(stack.removeLast().node)
            }
        }
        return order
    }
}
