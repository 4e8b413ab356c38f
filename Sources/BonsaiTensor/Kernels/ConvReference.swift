/// The plain direct-loop convolution: the oracle the im2col/GEMM and depthwise kernels are tested
/// against. Straight from the definition, accumulating in Double, with a bounds test per tap;
/// slow on purpose and never used by the engine itself.
///
/// With `g = o / (O/groups)` the group of output channel `o`, `C_g = C/groups`:
///
///     y[n, o, oh, ow]           = b[o] + Σ_{c < C_g, i, j} w[o, c, i, j] · x[n, g·C_g + c, oh·sh − ph + i, ow·sw − pw + j]
///     dx[n, g·C_g + c, ih, iw] += w[o, c, i, j] · dy[n, o, oh, ow]        for every term of the sum above
///     dw[o, c, i, j]           += x[n, g·C_g + c, ih, iw] · dy[n, o, oh, ow]
public enum ConvReference {
    /// Forward convolution (PyTorch `F.conv2d`), in the dtype of `x`.
    public static func forward(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, geometry: Conv2dGeometry) -> Tensor {
        let s = ConvShape(input: x.shape, weight: weight.shape, geometry: geometry, op: "ConvReference.forward")
        let (xs, ws, bs) = (x.doubles, weight.doubles, bias?.doubles)
        var out = [Double](repeating: 0, count: s.outputShape.elementCount)
        forEachTerm(s) { n, o, oh, ow, c, i, j, ih, iw in
            out[outputIndex(s, n, o, oh, ow)] += ws[weightIndex(s, o, c, i, j)] * xs[inputIndex(s, n, o, c, ih, iw)]
        }
        if let bs {
            for n in 0..<s.batch {
                for o in 0..<s.outChannels {
                    for p in 0..<s.outPlane { out[(n * s.outChannels + o) * s.outPlane + p] += bs[o] }
                }
            }
        }
        return Tensor(shape: s.outputShape, scalars: out).cast(to: x.dtype)
    }

    /// Gradient of `Σ y ⊙ grad` with respect to the input.
    public static func inputGradient(_ grad: Tensor, weight: Tensor, inputShape: [Int], geometry: Conv2dGeometry) -> Tensor {
        let s = ConvShape(input: inputShape, weight: weight.shape, geometry: geometry, op: "ConvReference.inputGradient")
        precondition(grad.shape == s.outputShape, "ConvReference.inputGradient: grad \(grad.shape) for \(s)")
        let (gs, ws) = (grad.doubles, weight.doubles)
        var dx = [Double](repeating: 0, count: inputShape.elementCount)
        forEachTerm(s) { n, o, oh, ow, c, i, j, ih, iw in
            dx[inputIndex(s, n, o, c, ih, iw)] += ws[weightIndex(s, o, c, i, j)] * gs[outputIndex(s, n, o, oh, ow)]
        }
        return Tensor(shape: inputShape, scalars: dx).cast(to: grad.dtype)
    }

    /// Gradient of `Σ y ⊙ grad` with respect to the weight.
    public static func weightGradient(_ grad: Tensor, input: Tensor, weightShape: [Int], geometry: Conv2dGeometry) -> Tensor {
        let s = ConvShape(input: input.shape, weight: weightShape, geometry: geometry, op: "ConvReference.weightGradient")
        precondition(grad.shape == s.outputShape, "ConvReference.weightGradient: grad \(grad.shape) for \(s)")
        let (gs, xs) = (grad.doubles, input.doubles)
        var dw = [Double](repeating: 0, count: weightShape.elementCount)
        forEachTerm(s) { n, o, oh, ow, c, i, j, ih, iw in
            dw[weightIndex(s, o, c, i, j)] += xs[inputIndex(s, n, o, c, ih, iw)] * gs[outputIndex(s, n, o, oh, ow)]
        }
        return Tensor(shape: weightShape, scalars: dw).cast(to: grad.dtype)
    }

    /// Every `(n, o, oh, ow, c, i, j)` whose input position `(ih, iw)` is inside the image.
    private static func forEachTerm(_ s: ConvShape, _ body: (Int, Int, Int, Int, Int, Int, Int, Int, Int) -> Void) {
        for n in 0..<s.batch {
            for o in 0..<s.outChannels {
                for oh in 0..<s.outHeight {
                    for ow in 0..<s.outWidth {
                        for c in 0..<s.inPerGroup {
                            for i in 0..<s.kernelH {
                                for j in 0..<s.kernelW {
                                    let ih = oh * s.strideH - s.padH + i
                                    let iw = ow * s.strideW - s.padW + j
                                    if ih >= 0 && ih < s.height && iw >= 0 && iw < s.width {
                                        body(n, o, oh, ow, c, i, j, ih, iw)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static func outputIndex(_ s: ConvShape, _ n: Int, _ o: Int, _ oh: Int, _ ow: Int) -> Int {
        ((n * s.outChannels + o) * s.outHeight + oh) * s.outWidth + ow
    }

    private static func weightIndex(_ s: ConvShape, _ o: Int, _ c: Int, _ i: Int, _ j: Int) -> Int {
        ((o * s.inPerGroup + c) * s.kernelH + i) * s.kernelW + j
    }

    /// Input index of channel `c` of output channel `o`'s group.
    private static func inputIndex(_ s: ConvShape, _ n: Int, _ o: Int, _ c: Int, _ ih: Int, _ iw: Int) -> Int {
        let channel = (o / s.outPerGroup) * s.inPerGroup + c
        return ((n * s.inChannels + channel) * s.height + ih) * s.width + iw
    }
}
