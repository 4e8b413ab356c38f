import Foundation

/// Adam (Kingma & Ba, PyTorch's defaults β = (0.9, 0.999), ε = 1e-8) with clipping of the global
/// gradient norm, as `torch.nn.utils.clip_grad_norm_` followed by `Adam.step()`: the gradients are
/// scaled by `min(1, maxNorm / ‖g‖₂)` before the moment updates.
///
/// The engine's optimizers read the gradients the parameters accumulated and cannot rescale them,
/// so the agents and the runtime base/gate updates take explicit gradient tensors here. Masked
/// parameters keep their masked entries at zero (the mask is re-applied after every step).
public final class ClippedAdam {
    public let parameters: [Parameter]
    public var learningRate: Double
    public let maxNorm: Double
    let beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
    var m: [[Double]]
    var v: [[Double]]
    public private(set) var steps = 0

    public init(parameters: [Parameter], learningRate: Double, maxNorm: Double) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.maxNorm = maxNorm
        m = parameters.map { [Double](repeating: 0, count: $0.value.count) }
        v = m
    }

    /// One step from `gradients` (one per parameter, same shapes). Returns the norm before clipping.
    @discardableResult
    public func step(_ gradients: [Tensor]) -> Double {
        precondition(gradients.count == parameters.count, "ClippedAdam.step: \(gradients.count) gradients for \(parameters.count) parameters")
        let g = gradients.map(\.doubles)
        var squared = 0.0
        for values in g { for x in values { squared += x * x } }
        let norm = squared.squareRoot()
        let scale = norm > maxNorm && norm > 0 ? maxNorm / norm : 1
        steps += 1
        let c1 = 1 - Foundation.pow(beta1, Double(steps)), c2 = 1 - Foundation.pow(beta2, Double(steps))
        for (p, parameter) in parameters.enumerated() {
            var w = parameter.value.doubles
            for i in w.indices {
                let gi = g[p][i] * scale
                m[p][i] = beta1 * m[p][i] + (1 - beta1) * gi
                v[p][i] = beta2 * v[p][i] + (1 - beta2) * gi * gi
                w[i] -= learningRate * (m[p][i] / c1) / ((v[p][i] / c2).squareRoot() + epsilon)
            }
            parameter.assign(Tensor(shape: parameter.shape, scalars: w))
            parameter.applyMask()
        }
        return norm
    }
}
