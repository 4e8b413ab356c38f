/// Every size a 2-d convolution kernel needs, resolved once from the input shape, the weight shape
/// and the ``Conv2dGeometry``.
///
/// Conventions (PyTorch): input `[N, C, H, W]`, weight `[O, C/groups, kh, kw]`, output
/// `[N, O, Ho, Wo]` with `Ho = (H + 2·padH − kh) / strideH + 1` (floor). Input channel block `g`
/// (`C/groups` channels) feeds output channel block `g` (`O/groups` channels).
///
/// For the im2col formulation one group of one image is the matrix product
///
///     Y_g[O/groups × Ho·Wo] = W_g[O/groups × K] · col_g[K × Ho·Wo],   K = (C/groups)·kh·kw
///
/// where row `(c·kh + i)·kw + j` of `col_g` holds input channel `c` shifted by kernel tap `(i, j)`.
struct ConvShape: Hashable, CustomStringConvertible {
    let batch: Int, inChannels: Int, height: Int, width: Int
    let outChannels: Int, kernelH: Int, kernelW: Int
    let outHeight: Int, outWidth: Int
    let strideH: Int, strideW: Int, padH: Int, padW: Int
    let groups: Int

    /// Resolves and validates the sizes; a mismatch is a contract violation of the caller (the
    /// layer that built the weight), reported with the op name and shapes.
    init(input: [Int], weight: [Int], geometry g: Conv2dGeometry, op: String = "conv2d") {
        precondition(input.count == 4 && weight.count == 4,
                     "\(op): need NCHW input and [out, in/groups, kh, kw] weight, got \(input) and \(weight)")
        precondition(g.groups >= 1 && g.strideH >= 1 && g.strideW >= 1 && g.padH >= 0 && g.padW >= 0,
                     "\(op): invalid geometry \(g)")
        precondition(input[1] % g.groups == 0 && weight[0] % g.groups == 0 && weight[1] * g.groups == input[1],
                     "\(op): input \(input) and weight \(weight) do not match groups = \(g.groups)")
        batch = input[0]; inChannels = input[1]; height = input[2]; width = input[3]
        outChannels = weight[0]; kernelH = weight[2]; kernelW = weight[3]
        strideH = g.strideH; strideW = g.strideW; padH = g.padH; padW = g.padW
        groups = g.groups
        let out = g.outputSize(height: height, width: width, kernelH: kernelH, kernelW: kernelW)
        precondition(kernelH >= 1 && kernelW >= 1 && height + 2 * padH >= kernelH && width + 2 * padW >= kernelW,
                     "\(op): kernel \(kernelH)×\(kernelW) larger than padded input \(input) with \(g)")
        outHeight = out.height; outWidth = out.width
    }

    var geometry: Conv2dGeometry {
        Conv2dGeometry(strideH: strideH, strideW: strideW, padH: padH, padW: padW, groups: groups)
    }

    var inputShape: [Int] { [batch, inChannels, height, width] }
    var weightShape: [Int] { [outChannels, inPerGroup, kernelH, kernelW] }
    var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }

    var inPerGroup: Int { inChannels / groups }
    var outPerGroup: Int { outChannels / groups }
    /// Rows of one group's column matrix (the GEMM's inner dimension).
    var colRows: Int { inPerGroup * kernelH * kernelW }
    /// Columns of the column matrix: output pixels per image.
    var outPlane: Int { outHeight * outWidth }
    var inPlane: Int { height * width }
    /// Size of the stride phase planes `x[y·sh + r, x·sw + t]`: `⌈H / sh⌉ × ⌈W / sw⌉` (see ``Im2col``).
    var phaseHeight: Int { (height + strideH - 1) / strideH }
    var phaseWidth: Int { (width + strideW - 1) / strideW }
    /// Scalars of one image's input / output.
    var inImage: Int { inChannels * inPlane }
    var outImage: Int { outChannels * outPlane }

    /// A 1×1, stride-1, unpadded convolution: the input planes already are the column matrix.
    var isPointwise: Bool {
        kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0
    }

    /// One input channel per group (depthwise, possibly with a channel multiplier `O/C`).
    var isDepthwise: Bool { groups > 1 && inPerGroup == 1 }

    /// Multiply-adds of one pass (forward, input gradient and weight gradient each cost this many).
    var multiplyAdds: Int { batch * outChannels * outPlane * colRows }

    var description: String {
        "input \(inputShape), weight \(weightShape), stride \(strideH)×\(strideW), pad \(padH)×\(padW), groups \(groups)"
    }

    /// The range of output columns `ow` whose input column `ow·stride − pad + tap` lies inside
    /// `0..<size`: the taps outside read padding (zero) and are skipped by the direct kernels.
    @inline(__always)
    static func validOutputRange(tap: Int, size: Int, outSize: Int, stride: Int, pad: Int) -> Range<Int> {
        // ow·s − p + tap ≥ 0  ⇔  ow ≥ ceil((p − tap) / s);  ow·s − p + tap ≤ size − 1  ⇔  ow ≤ floor((size − 1 + p − tap) / s)
        let lowNumerator = pad - tap
        let low = lowNumerator <= 0 ? 0 : (lowNumerator + stride - 1) / stride
        let highNumerator = size - 1 + pad - tap
        let high = highNumerator < 0 ? -1 : highNumerator / stride
        let lower = Swift.min(low, outSize), upper = Swift.min(high + 1, outSize)
        return lower..<Swift.max(lower, upper)
    }
}
