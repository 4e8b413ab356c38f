/// The backward rules: one case per ``Op``, exhaustive, so an op cannot exist without its gradient.
///
/// Each rule receives the gradient of the op's output and returns one gradient per entry of
/// `op.inputs` (nil where `needs` is false, so unneeded work, like the input gradient of a first
/// layer, is skipped). Rules run in no-grad mode: gradients are plain tensors.
extension Op {
    func backward(grad g: Tensor, needs: [Bool]) -> [Tensor?] {
        switch self {
        case .leaf:
            return []
        case let .add(a, b):
            return [needs[0] ? g.sumTo(a.shape) : nil, needs[1] ? g.sumTo(b.shape) : nil]
        case let .sub(a, b):
            return [needs[0] ? g.sumTo(a.shape) : nil, needs[1] ? (-g).sumTo(b.shape) : nil]
        case let .mul(a, b):
            return [needs[0] ? (g * b.detached()).sumTo(a.shape) : nil,
                    needs[1] ? (g * a.detached()).sumTo(b.shape) : nil]
        case let .div(a, b):
            let bd = b.detached()
            return [needs[0] ? (g / bd).sumTo(a.shape) : nil,
                    needs[1] ? (-(g * a.detached()) / (bd * bd)).sumTo(b.shape) : nil]
        case .neg:
            return [-g]
        case let .scale(_, c):
            return [g.scaled(by: c)]
        case .shift:
            return [g]
        case let .power(x, p):
            return [g * x.detached().pow(p - 1).scaled(by: p)]
        case let .exp(_, output):
            return [g * output]
        case let .log(x):
            return [g / x.detached()]
        case let .sqrt(_, output):
            return [g / output.scaled(by: 2)]
        case let .abs(x):
            return [g * x.detached().sign()]
        case let .relu(x):
            return [UnaryGradient.relu(x: x.detached(), grad: g)]
        case let .gelu(x):
            return [GeluKernel.backward(x: x.detached(), grad: g)]
        case let .tanh(_, output):
            return [UnaryGradient.tanh(output: output, grad: g)]
        case let .sigmoid(_, output):
            return [UnaryGradient.sigmoid(output: output, grad: g)]
        case let .clamp(x, low, high):
            return [UnaryGradient.clamp(x: x.detached(), low: low, high: high, grad: g)]
        case let .cast(x):
            return [g.cast(to: x.dtype)]
        case let .mask(_, mask):
            return [Tensor.applyMask(g, mask)]
        case let .sum(x, axes):
            var kept = x.shape
            for axis in axes { kept[axis] = 1 }
            return [g.reshaped(kept).broadcast(to: x.shape)]
        case let .max(x, indices):
            return [UnaryGradient.scatter(grad: g, indices: indices, shape: x.shape)]
        case let .reshape(x):
            return [g.reshaped(x.shape)]
        case let .permute(_, perm):
            var inverse = perm
            for (i, p) in perm.enumerated() { inverse[p] = i }
            return [g.permuted(inverse)]
        case let .broadcast(x):
            return [g.sumTo(x.shape)]
        case let .concat(parts, axis):
            var start = 0
            return parts.enumerated().map { i, part in
                defer { start += part.shape[axis] }
                return needs[i] ? g.sliced(axis: axis, start: start, length: part.shape[axis]) : nil
            }
        case let .slice(x, axis, start):
            var out = Tensor.zeros(x.shape, dtype: x.dtype)
            Layout.copySlab(from: g, into: &out, axis: axis, start: start)
            return [out]
        case let .indexSelect(x, axis, indices):
            return [Layout.indexAdd(g, axis: axis, indices: indices, shape: x.shape)]
        case let .matmul(a, b):
            return MatmulGradient.matmul(a: a.detached(), b: b.detached(), grad: g, needs: needs)
        case let .linear(x, w, b):
            return MatmulGradient.linear(input: x.detached(), weight: w.detached(), hasBias: b != nil, grad: g, needs: needs)
        case let .softmax(_, output):
            // dx = y ⊙ (g − Σ_j g_j y_j)
            return [output * (g - (g * output).sum(axes: [-1], keepDims: true))]
        case let .logSoftmax(_, output):
            // dx = g − softmax(x) · Σ_j g_j, with softmax(x) = exp(log-softmax)
            return [g - output.exp() * g.sum(axes: [-1], keepDims: true)]
        case let .conv2d(x, w, b, geometry):
            return Conv2dGradient.gradients(input: x.detached(), weight: w.detached(), hasBias: b != nil,
                                            geometry: geometry, grad: g, needs: needs)
        case let .maxPool2d(x, argmax, _):
            return [PoolGradient.maxPool(inputShape: x.shape, argmax: argmax, grad: g)]
        case let .avgPool2d(x, geometry):
            return [PoolGradient.avgPool(inputShape: x.shape, geometry: geometry, grad: g)]
        case let .batchNorm(x, w, b, saved):
            return NormGradient.batchNorm(input: x.detached(), weight: w?.detached(), hasBias: b != nil,
                                          saved: saved, grad: g, needs: needs)
        case let .layerNorm(x, w, b, saved):
            return NormGradient.layerNorm(input: x.detached(), weight: w?.detached(), hasBias: b != nil,
                                          saved: saved, grad: g, needs: needs)
        case let .crossEntropy(_, labels, smoothing, probabilities):
            return [LossGradient.crossEntropy(probabilities: probabilities, labels: labels,
                                              labelSmoothing: smoothing, grad: g)]
        case let .attention(qkv, saved):
            return [AttentionKernel.backward(qkv: qkv.detached(), saved: saved, grad: g)]
        }
    }
}

extension Tensor {
    /// Sums a broadcast gradient back to `target` (the adjoint of broadcasting).
    func sumTo(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let axes = Broadcast.reducedAxes(from: shape, to: target)
        return sum(axes: axes).reshaped(target)
    }
}
