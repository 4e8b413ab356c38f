// PLACEHOLDER (being implemented on a helper branch): conv2d forward and backward.

/// 2-d convolution of NCHW `x` with `[out, in/groups, kh, kw]` weights (PyTorch `F.conv2d`).
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, groups: Int = 1) -> Tensor {
    preconditionFailure("conv2d: not implemented yet")
}

enum Conv2dGradient {
    static func gradients(input: Tensor, weight: Tensor, hasBias: Bool, geometry: Conv2dGeometry,
                          grad: Tensor, needs: [Bool]) -> [Tensor?] {
        preconditionFailure("conv2d backward: not implemented yet")
    }
}
