import BonsaiTensor

/// One convolution layer shape of a benchmarked model.
struct ConvLayerSpec {
    var name: String
    var input: [Int], weight: [Int]
    var geometry: Conv2dGeometry
    var bias: Bool
    /// How many layers of the model have this shape.
    var count: Int
    /// False for a first layer (its input is the image).
    var inputNeedsGradient: Bool

    var flopsPerPass: Double {
        let out = geometry.outputSize(height: input[2], width: input[3], kernelH: weight[2], kernelW: weight[3])
        return 2 * Double(input[0] * weight[0] * out.height * out.width * weight[1] * weight[2] * weight[3])
    }

    static func layer(_ cin: Int, _ cout: Int, size: Int, kernel: Int = 3, stride: Int = 1, batch: Int,
                      bias: Bool, count: Int = 1, first: Bool = false) -> ConvLayerSpec {
        let padding = kernel / 2
        let name = "\(cin)→\(cout) \(kernel)×\(kernel)\(stride > 1 ? " s\(stride)" : "") at \(size)×\(size)\(first ? " (first)" : "")"
        return ConvLayerSpec(name: name, input: [batch, cin, size, size], weight: [cout, cin, kernel, kernel],
                             geometry: Conv2dGeometry(stride: stride, padding: padding), bias: bias, count: count,
                             inputNeedsGradient: !first)
    }

    /// The distinct convolution shapes of conv4 (biased convs, 2×2 max-pools between pairs) and
    /// resnet20 (bias-free convs, three stages of three basic blocks, 1×1 projection shortcuts).
    static func models(batch n: Int) -> [(name: String, layers: [ConvLayerSpec])] {
        [("conv4", [
            layer(3, 64, size: 32, batch: n, bias: true, first: true),
            layer(64, 64, size: 32, batch: n, bias: true),
            layer(64, 128, size: 16, batch: n, bias: true),
            layer(128, 128, size: 16, batch: n, bias: true),
         ]),
         ("resnet20", [
            layer(3, 16, size: 32, batch: n, bias: false, first: true),
            layer(16, 16, size: 32, batch: n, bias: false, count: 6),
            layer(16, 32, size: 32, stride: 2, batch: n, bias: false),
            layer(32, 32, size: 16, batch: n, bias: false, count: 5),
            layer(32, 64, size: 16, stride: 2, batch: n, bias: false),
            layer(64, 64, size: 8, batch: n, bias: false, count: 5),
            layer(16, 32, size: 32, kernel: 1, stride: 2, batch: n, bias: false),
            layer(32, 64, size: 16, kernel: 1, stride: 2, batch: n, bias: false),
         ])]
    }
}
