/// Plain-loop max pooling, the oracle the pooling kernels are tested against: every window is
/// scanned in row-major order over the padded image with explicit bounds checks, padding counts as
/// −∞, `v > best || v.isNaN` takes over (first maximum wins a tie, NaN propagates), in Float64.
public enum PoolReference {
    /// The pooled values and, per output, the flat input index (over the whole tensor) of the
    /// element that won its window.
    public static func maxPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0)
        -> (output: [Double], argmax: [Int]) {
        precondition(x.rank == 4, "PoolReference.maxPool2d: need NCHW, got \(x.shape)")
        let stride = stride ?? kernel
        let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = ((h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1)
        let values = x.doubles
        var output: [Double] = [], argmax: [Int] = []
        for p in 0..<planes {
            for r in 0..<oh {
                for c in 0..<ow {
                    var best = -Double.infinity, index = -1
                    for i in 0..<kernel {
                        for j in 0..<kernel {
                            let (y, z) = (r * stride - padding + i, c * stride - padding + j)
                            guard y >= 0, y < h, z >= 0, z < w else { continue }
                            let v = values[(p * h + y) * w + z]
                            if index < 0 || v > best || v.isNaN { best = v; index = (p * h + y) * w + z }
                        }
                    }
                    output.append(best); argmax.append(index)
                }
            }
        }
        return (output, argmax)
    }
}
