/// `nn.Embedding(count, dim)`: a `weight [count, dim]` table initialised N(0, 1) as PyTorch does.
public final class Embedding: Module {
    public let weight: Parameter

    public init(_ count: Int, _ dim: Int, rng: inout RandomGenerator) {
        weight = Parameter(.normal([count, dim], using: &rng), role: .embedding)
        super.init()
        register(parameter: "weight", weight)
    }

    /// Rows for `ids` laid out in `shape`; the result is `shape + [dim]`.
    public func forward(_ ids: [Int], shape: [Int]) -> Tensor {
        embedding(ids, shape: shape, weight: weight.effective)
    }
}
