/// The inference form of a masked model that runs its sparse enough layers on the CSR kernels
/// (`sparseLinear`, `sparseConv2d`) and everything else on the dense engine ops.
///
/// Built once from the model's current effective weights (`value ⊙ mask`): a linear or conv
/// (groups = 1) weight whose density is at most `maxDensity` (default 0.1) is compressed to a
/// ``SparseMatrix``; denser layers keep the dense kernel. The default is the measured crossover
/// (`bonsai bench sparse --sweep`, a 784→300 layer: CSR/dense time 0.8 at 5 % density and ≈ 1 at
/// 10 % for batch 1; 0.7 at 10 % and 1.8 at 20 % for batch 64). Rebuild after the weights or
/// masks change. The model's structure comes from its ``InferencePlan``; a model without a
/// step plan (`TinyBert`, unknown modules) runs its own forward, unchanged, and reports no sparse
/// layer.
///
/// Outputs equal the masked model's in evaluation mode up to float summation order.
public final class SparseModel {
    /// How one weight layer is executed.
    public struct LayerChoice: Codable, Sendable, Equatable {
        public var path: String
        public var kind: String
        public var density: Double
        public var sparse: Bool
    }

    public let model: any Model
    public let maxDensity: Double
    public let layers: [LayerChoice]
    private let steps: [InferenceStep]?
    private let matrices: [String: SparseMatrix]

    public init(_ model: any Model, maxDensity: Double = 0.1) {
        self.model = model
        self.maxDensity = maxDensity
        var matrices: [String: SparseMatrix] = [:]
        var layers: [LayerChoice] = []
        if case let .steps(steps)? = InferencePlan.make(model) {
            self.steps = steps
            func visit(_ steps: [InferenceStep]) {
                for step in steps {
                    switch step {
                    case let .linear(path, layer):
                        Self.consider(path, "linear", layer.weight, eligible: true, maxDensity, &matrices, &layers)
                    case let .conv(path, layer):
                        Self.consider(path, "conv", layer.weight, eligible: layer.groups == 1, maxDensity, &matrices, &layers)
                    case let .residual(body, shortcut): visit(body); visit(shortcut)
                    default: break
                    }
                }
            }
            visit(steps)
        } else {
            steps = nil
        }
        self.matrices = matrices
        self.layers = layers
    }

    private static func consider(_ path: String, _ kind: String, _ weight: Parameter, eligible: Bool, _ maxDensity: Double,
                                 _ matrices: inout [String: SparseMatrix], _ layers: inout [LayerChoice]) {
        let matrix = SparseMatrix(dense: Engine.withoutGrad { weight.effective.detached() })
        let sparse = eligible && matrix.density <= maxDensity
        if sparse { matrices[path] = matrix }
        layers.append(LayerChoice(path: path, kind: kind, density: matrix.density, sparse: sparse))
    }

    /// True when some layer runs on a sparse kernel.
    public var usesSparseKernels: Bool { !matrices.isEmpty }

    /// Logits for `input` (evaluation mode, no autograd graph).
    public func forward(_ input: ModelInput) -> Tensor {
        Engine.withoutGrad {
            guard let steps, case let .dense(x) = input else { return model.forward(input, context: .evaluation) }
            return InferencePlan.run(steps, x, linear: { path, layer, h in
                guard let w = matrices[path] else { return layer.forward(h, context: .evaluation) }
                return sparseLinear(h, weight: w, bias: layer.bias?.effective)
            }, conv: { path, layer, h in
                guard let w = matrices[path] else { return layer.forward(h, context: .evaluation) }
                return sparseConv2d(h, weight: w, bias: layer.bias?.effective,
                                    geometry: Conv2dGeometry(stride: layer.stride, padding: layer.padding))
            })
        }
    }
}
