/// 2-d convolution of NCHW `x` with `[out, in/groups, kh, kw]` weights (PyTorch `F.conv2d`, no
/// dilation): `stride` and `padding` apply to both spatial axes.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                   groups: Int = 1) -> Tensor {
    conv2d(x, weight: weight, bias: bias, geometry: Conv2dGeometry(stride: stride, padding: padding, groups: groups))
}

/// 2-d convolution with separate vertical and horizontal stride and padding.
///
///     y[n, o, oh, ow] = b[o] + Σ_{c, i, j} w[o, c, i, j] · x[n, g·C/groups + c, oh·sh − ph + i, ow·sw − pw + j]
///
/// with `g` the group of output channel `o` and zero padding. Depthwise convolutions (one input
/// channel per group) run on direct kernels (``ConvDepthwise``), everything else as im2col + GEMM
/// (``ConvGemm``), the batch split over the thread budget.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, geometry: Conv2dGeometry) -> Tensor {
    let s = ConvShape(input: x.shape, weight: weight.shape, geometry: geometry)
    precondition(x.dtype == weight.dtype, "conv2d: input is \(x.dtype), weight is \(weight.dtype)")
    if let bias {
        precondition(bias.shape == [s.outChannels] && bias.dtype == x.dtype,
                     "conv2d: bias \(bias.shape) (\(bias.dtype)) for weight \(weight.shape) (\(weight.dtype))")
    }
    var out = Tensor.empty(s.outputShape, dtype: x.dtype)
    func run<T: TensorScalar>(_: T.Type) {
        x.withScalars(T.self) { px in
            weight.withScalars(T.self) { pw in
                out.withMutableScalars(T.self) { po in
                    withOptionalScalars(bias, T.self) { pb in
                        if s.isDepthwise {
                            ConvDepthwise.forward(x: px.baseAddress!, weight: pw.baseAddress!, bias: pb,
                                                  out: po.baseAddress!, shape: s)
                        } else {
                            ConvGemm.forward(x: px.baseAddress!, weight: pw.baseAddress!, bias: pb,
                                             out: po.baseAddress!, shape: s)
                        }
                    }
                }
            }
        }
    }
    if out.count > 0 { dispatch(x.dtype, float: { run(Float.self) }, double: { run(Double.self) }) }
    return out.recording(.conv2d(input: x, weight: weight, bias: bias, geometry: geometry),
                         inputs: [x, weight] + (bias.map { [$0] } ?? []))
}

/// Calls `body` with the base address of `t`'s scalars, or nil when there is no tensor.
@inline(__always)
private func withOptionalScalars<T: TensorScalar, R>(_ t: Tensor?, _: T.Type, _ body: (UnsafePointer<T>?) -> R) -> R {
    guard let t else { return body(nil) }
    return t.withScalars(T.self) { body($0.baseAddress) }
}

/// The backward rule of ``conv2d(_:weight:bias:geometry:)``: gradients for `[input, weight, bias?]`.
///
/// - input:  `dX = col2im(Wᵀ · dY)` (per group), or the depthwise direct kernel;
/// - weight: `dW = Σ_n dY_n · col_nᵀ`, per-worker partial sums added at the end;
/// - bias:   `db[o] = Σ_{n, oh, ow} dY[n, o, oh, ow]`.
///
/// Products whose `needs` entry is false are skipped (a first layer needs no input gradient).
enum Conv2dGradient {
    static func gradients(input: Tensor, weight: Tensor, hasBias: Bool, geometry: Conv2dGeometry,
                          grad: Tensor, needs: [Bool]) -> [Tensor?] {
        let s = ConvShape(input: input.shape, weight: weight.shape, geometry: geometry, op: "conv2d backward")
        precondition(grad.shape == s.outputShape && grad.dtype == input.dtype,
                     "conv2d backward: gradient \(grad.shape) (\(grad.dtype)) for output \(s.outputShape) (\(input.dtype))")
        let needsInput = needs[0], needsWeight = needs.count > 1 && needs[1]
        var gradInput = needsInput ? Tensor.empty(s.inputShape, dtype: input.dtype) : nil
        var gradWeight = needsWeight ? Tensor.empty(s.weightShape, dtype: input.dtype) : nil
        func run<T: TensorScalar>(_: T.Type) {
            grad.withScalars(T.self) { pg in
                input.withScalars(T.self) { px in
                    weight.withScalars(T.self) { pw in
                        withOptionalMutableScalars(&gradInput, T.self) { dx in
                            withOptionalMutableScalars(&gradWeight, T.self) { dw in
                                backward(grad: pg.baseAddress!, x: px.baseAddress!, weight: pw.baseAddress!,
                                         gradInput: dx, gradWeight: dw, shape: s)
                            }
                        }
                    }
                }
            }
        }
        if needsInput || needsWeight {
            if s.inputShape.elementCount == 0 || s.outputShape.elementCount == 0 {
                gradInput = gradInput.map { Tensor.zeros($0.shape, dtype: $0.dtype) }
                gradWeight = gradWeight.map { Tensor.zeros($0.shape, dtype: $0.dtype) }
            } else {
                dispatch(input.dtype, float: { run(Float.self) }, double: { run(Double.self) })
            }
        }
        var result: [Tensor?] = [gradInput, gradWeight]
        if hasBias { result.append(needs[2] ? biasGradient(grad, shape: s) : nil) }
        return result
    }

    /// `db[o] = Σ_{n, oh, ow} dY[n, o, oh, ow]`.
    private static func biasGradient(_ grad: Tensor, shape s: ConvShape) -> Tensor {
        var db = Tensor.zeros([s.outChannels], dtype: grad.dtype)
        func run<T: TensorScalar>(_: T.Type) {
            grad.withScalars(T.self) { pg in
                db.withMutableScalars(T.self) { pd in
                    ConvBias.gradient(pg.baseAddress!, batch: s.batch, channels: s.outChannels, plane: s.outPlane,
                                      into: pd.baseAddress!)
                }
            }
        }
        if grad.count > 0 { dispatch(grad.dtype, float: { run(Float.self) }, double: { run(Double.self) }) }
        return db
    }

    private static func backward<T: TensorScalar>(grad: UnsafePointer<T>, x: UnsafePointer<T>, weight: UnsafePointer<T>,
                                                  gradInput: UnsafeMutablePointer<T>?, gradWeight: UnsafeMutablePointer<T>?,
                                                  shape s: ConvShape) {
        if s.isDepthwise {
            if let gradInput { ConvDepthwise.inputGradient(grad: grad, weight: weight, into: gradInput, shape: s) }
            if let gradWeight { ConvDepthwise.weightGradient(grad: grad, x: x, into: gradWeight, shape: s) }
        } else {
            ConvGemm.backward(x: x, weight: weight, grad: grad, gradInput: gradInput, gradWeight: gradWeight, shape: s)
        }
    }
}

/// Calls `body` with the writable base address of `t`'s scalars, or nil when there is no tensor.
@inline(__always)
private func withOptionalMutableScalars<T: TensorScalar, R>(_ t: inout Tensor?, _: T.Type,
                                                            _ body: (UnsafeMutablePointer<T>?) -> R) -> R {
    guard var tensor = t else { return body(nil) }
    t = nil  // keep the storage uniquely referenced so the write needs no copy
    defer { t = tensor }
    return tensor.withMutableScalars(T.self) { body($0.baseAddress) }
}
