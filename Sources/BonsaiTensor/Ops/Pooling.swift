// PLACEHOLDER (being implemented on a helper branch): pooling forward and backward.

enum PoolGradient {
    static func maxPool(inputShape: [Int], argmax: [Int32], grad: Tensor) -> Tensor {
        preconditionFailure("maxPool2d backward: not implemented yet")
    }

    static func avgPool(inputShape: [Int], geometry: Pool2dGeometry, grad: Tensor) -> Tensor {
        preconditionFailure("avgPool2d backward: not implemented yet")
    }
}
