// PLACEHOLDER (being implemented on a helper branch): batch norm and layer norm.

enum NormGradient {
    static func batchNorm(input: Tensor, weight: Tensor?, hasBias: Bool, saved: NormStatistics,
                          grad: Tensor, needs: [Bool]) -> [Tensor?] {
        preconditionFailure("batchNorm backward: not implemented yet")
    }

    static func layerNorm(input: Tensor, weight: Tensor?, hasBias: Bool, saved: NormStatistics,
                          grad: Tensor, needs: [Bool]) -> [Tensor?] {
        preconditionFailure("layerNorm backward: not implemented yet")
    }
}
