/// 2-d max pooling over NCHW `x` (PyTorch `F.max_pool2d`, floor mode): `stride` defaults to
/// `kernel`, padding (at most `kernel/2`) counts as −∞. The gradient goes to the first maximum of
/// each window in row-major scan order, as PyTorch's CPU kernel does; the flat input indices of the
/// maxima are saved for the backward pass.
public func maxPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    let geometry = Pool2dGeometry(kernel: kernel, stride: stride, padding: padding)
    let s = PoolShape(input: x.shape, geometry: geometry, op: "maxPool2d")
    precondition(x.count <= Int(Int32.max), "maxPool2d: input \(x.shape) too large for Int32 argmax indices")
    let outShape = [x.shape[0], x.shape[1], s.outHeight, s.outWidth]
    var out = Tensor.empty(outShape, dtype: x.dtype)
    let argmax = [Int32](unsafeUninitializedCapacity: outShape.elementCount) { indices, initialized in
        func run<T: TensorScalar>(_: T.Type) {
            x.withScalars(T.self) { px in
                out.withMutableScalars(T.self) { po in
                    guard let input = px.baseAddress, let output = po.baseAddress, let argmax = indices.baseAddress else { return }
                    PoolKernels.maxForward(input, out: output, argmax: argmax, shape: s)
                }
            }
        }
        dispatch(x.dtype, float: { run(Float.self) }, double: { run(Double.self) })
        initialized = outShape.elementCount
    }
    return out.recording(.maxPool2d(x, argmax: argmax, geometry: geometry), inputs: [x])
}

/// 2-d average pooling over NCHW `x` (PyTorch `F.avg_pool2d` defaults: floor mode,
/// `count_include_pad = True`, so a window overlapping the zero padding still divides by `kernel²`).
public func avgPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    let geometry = Pool2dGeometry(kernel: kernel, stride: stride, padding: padding)
    let s = PoolShape(input: x.shape, geometry: geometry, op: "avgPool2d")
    var out = Tensor.empty([x.shape[0], x.shape[1], s.outHeight, s.outWidth], dtype: x.dtype)
    func run<T: TensorScalar>(_: T.Type) {
        x.withScalars(T.self) { px in
            out.withMutableScalars(T.self) { po in
                guard let input = px.baseAddress, let output = po.baseAddress else { return }
                PoolKernels.averageForward(input, out: output, shape: s)
            }
        }
    }
    dispatch(x.dtype, float: { run(Float.self) }, double: { run(Double.self) })
    return out.recording(.avgPool2d(x, geometry: geometry), inputs: [x])
}

/// Global average pooling `[N, C, H, W] → [N, C]`: the mean of every plane. A composite of
/// `reshaped` and `mean`, so it needs no backward rule of its own.
public func globalAvgPool2d(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "globalAvgPool2d: need an NCHW input, got \(x.shape)")
    return x.reshaped([x.shape[0], x.shape[1], x.shape[2] * x.shape[3]]).mean(axes: [2])
}

/// Backward rules of the pooling ops.
enum PoolGradient {
    /// `dx[argmax[o]] += dy[o]`.
    static func maxPool(inputShape: [Int], argmax: [Int32], grad: Tensor) -> Tensor {
        precondition(inputShape.count == 4 && grad.rank == 4 && grad.count == argmax.count
                     && grad.shape[0] == inputShape[0] && grad.shape[1] == inputShape[1],
                     "maxPool2d backward: gradient \(grad.shape) with \(argmax.count) indices for input \(inputShape)")
        var dx = Tensor.empty(inputShape, dtype: grad.dtype)
        let planes = inputShape[0] * inputShape[1]
        let inPlane = inputShape[2] * inputShape[3], outPlane = grad.shape[2] * grad.shape[3]
        func run<T: TensorScalar>(_: T.Type) {
            grad.withScalars(T.self) { pg in
                dx.withMutableScalars(T.self) { pd in
                    argmax.withUnsafeBufferPointer { pa in
                        guard let g = pg.baseAddress, let d = pd.baseAddress, let a = pa.baseAddress else { return }
                        PoolKernels.maxBackward(g, argmax: a, into: d, planes: planes, inPlane: inPlane, outPlane: outPlane)
                    }
                }
            }
        }
        dispatch(grad.dtype, float: { run(Float.self) }, double: { run(Double.self) })
        return dx
    }

    /// Each input of a window receives `dy / kernel²` (the padded window size).
    static func avgPool(inputShape: [Int], geometry: Pool2dGeometry, grad: Tensor) -> Tensor {
        let s = PoolShape(input: inputShape, geometry: geometry, op: "avgPool2d backward")
        precondition(grad.shape == [inputShape[0], inputShape[1], s.outHeight, s.outWidth],
                     "avgPool2d backward: gradient \(grad.shape) for input \(inputShape)")
        var dx = Tensor.empty(inputShape, dtype: grad.dtype)
        func run<T: TensorScalar>(_: T.Type) {
            grad.withScalars(T.self) { pg in
                dx.withMutableScalars(T.self) { pd in
                    guard let g = pg.baseAddress, let d = pd.baseAddress else { return }
                    PoolKernels.averageBackward(g, into: d, shape: s)
                }
            }
        }
        dispatch(grad.dtype, float: { run(Float.self) }, double: { run(Double.self) })
        return dx
    }
}
