import ArgumentParser
import BonsaiTensor
import Foundation

/// `bonsai bench …`: performance measurements.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure performance.",
        subcommands: [BenchEngine.self, BenchTrain.self, BenchSparse.self])
}

/// `bonsai bench engine`: the tensor engine's throughput on the work that dominates training.
///
/// Prints SGEMM GFLOP/s (square 512 and 1024 through `Gemm.multiply`, so the thread budget applies)
/// and, for every distinct convolution shape of the `conv4` and `resnet20` CIFAR models at batch 64,
/// the forward + backward GFLOP/s and its ratio to SGEMM-1024 from the same run.
///
/// FLOP counting: one pass (forward, input gradient, or weight gradient) of a convolution is
/// `2·N·Cout·Hout·Wout·(Cin/groups)·kh·kw` FLOPs. Forward + backward counts 3 passes, except for
/// a model's first layer, whose input is the image and needs no gradient (2 passes). The bias add
/// and its gradient are not counted. Every figure is the median over the repetitions.
struct BenchEngine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Benchmark SGEMM and the convolution layers of conv4 and resnet20 (forward + backward).")

    @Option(help: "Thread budget of the engine.")
    var threads: Int = 1

    @Option(help: "Timed repetitions per measurement (the median is reported).")
    var repetitions: Int = 7

    @Option(help: "Batch size of the convolution benchmarks.")
    var batch: Int = 64

    @Option(help: "Only benchmark layers whose description contains this text (e.g. \"64→64\").")
    var layer: String?

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
    }

    func run() throws {
        Engine.withThreads(threads) {
            print("bonsai bench engine: threads \(threads), repetitions \(repetitions) (median), batch \(batch)")
            let sgemm512 = sgemmRate(size: 512)
            let sgemm1024 = sgemmRate(size: 1024)
            print(String(format: "sgemm  512×512×512     %8.1f GFLOP/s", sgemm512))
            print(String(format: "sgemm 1024×1024×1024   %8.1f GFLOP/s   (reference for the ratios below)", sgemm1024))
            print("conv fwd+bwd: 3 passes of 2·N·Cout·Hout·Wout·Cin/g·kh·kw FLOPs (2 for a first layer: no input gradient)")
            print("\("model".padded(9)) \("layer".padded(34)) count  fwd GF/s  bwd GF/s  f+b GF/s  of sgemm")
            var summaries: [String] = []
            var worst: (ratio: Double, name: String) = (.infinity, "")
            for model in ConvLayerSpec.models(batch: batch) {
                let layers = model.layers.filter { spec in layer.map { "\(model.name) \(spec.name)".contains($0) } ?? true }
                guard !layers.isEmpty else { continue }
                var weightedFlops = 0.0, weightedSeconds = 0.0
                for spec in layers {
                    let result = measure(spec)
                    let ratio = result.rate / sgemm1024
                    let figures = String(format: "%5d  %8.1f  %8.1f  %8.1f  %7.0f%%", spec.count, result.forwardRate,
                                         result.backwardRate, result.rate, ratio * 100)
                    print("\(model.name.padded(9)) \(spec.name.padded(34)) \(figures)")
                    weightedFlops += Double(spec.count) * result.flops
                    weightedSeconds += Double(spec.count) * result.seconds
                    if ratio < worst.ratio { worst = (ratio, "\(model.name) \(spec.name)") }
                }
                let rate = weightedFlops / weightedSeconds / 1e9
                let share = String(format: "%.1f GFLOP/s = %.0f%% of sgemm-1024", rate, rate / sgemm1024 * 100)
                print("\(model.name.padded(9)) all layers, weighted by their count in the model: \(share)")
                summaries.append("\(model.name) \(String(format: "%.1f GFLOP/s (%.0f%%)", rate, rate / sgemm1024 * 100))")
            }
            let worstText = worst.name.isEmpty ? "" : "; slowest layer \(worst.name) at \(String(format: "%.0f%%", worst.ratio * 100))"
            print("summary: threads \(threads), sgemm-1024 \(String(format: "%.1f", sgemm1024)) GFLOP/s; conv fwd+bwd "
                  + summaries.joined(separator: ", ") + worstText)
        }
    }

    // MARK: Measurements

    /// Median GFLOP/s of a square `size` SGEMM `C = A·B` (2·size³ FLOPs).
    private func sgemmRate(size n: Int) -> Double {
        var rng = RandomGenerator(seed: 1)
        let a = (0..<(n * n)).map { _ in Float(rng.nextUnit() - 0.5) }
        let b = (0..<(n * n)).map { _ in Float(rng.nextUnit() - 0.5) }
        var c = [Float](repeating: 0, count: n * n)
        let seconds = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    median(warmup: 1, count: Swift.max(repetitions, n <= 512 ? 3 * repetitions : repetitions)) {
                        Gemm.multiply(Gemm.Operands(m: n, n: n, k: n, a: pa.baseAddress!, lda: n,
                                                    b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n))
                    }
                }
            }
        }
        return 2 * Double(n * n * n) / seconds / 1e9
    }

    private struct LayerResult {
        var flops: Double, seconds: Double
        var forwardRate: Double, backwardRate: Double
        var rate: Double { flops / seconds / 1e9 }
    }

    /// Forward and backward of one layer; the backward is seeded with a fixed output gradient.
    private func measure(_ layer: ConvLayerSpec) -> LayerResult {
        var rng = RandomGenerator(seed: 2)
        let xData = Tensor.normal(layer.input, dtype: .float32, using: &rng)
        let x = layer.inputNeedsGradient ? xData.requiringGrad() : xData
        let w = Tensor.normal(layer.weight, std: 0.1, dtype: .float32, using: &rng).requiringGrad()
        let b = layer.bias ? Tensor.zeros([layer.weight[0]]).requiringGrad() : nil
        let wanted = (layer.inputNeedsGradient ? [x] : []) + [w] + (b.map { [$0] } ?? [])
        let seed = Engine.withoutGrad { conv2d(xData, weight: w, bias: b, geometry: layer.geometry) }
        var forward: [Double] = [], backward: [Double] = []
        for repetition in 0...repetitions {
            let clock = ContinuousClock()
            var y = seed
            let f = clock.measure { y = conv2d(x, weight: w, bias: b, geometry: layer.geometry) }
            var grads: [Tensor] = []
            let g = clock.measure { grads = gradients(of: y, withRespectTo: wanted, seed: seed) }
            precondition(grads.count == wanted.count, "bench: missing gradients")
            if repetition > 0 { forward.append(f.seconds); backward.append(g.seconds) }  // repetition 0 warms up
        }
        let pass = layer.flopsPerPass
        let (fm, bm) = (forward.median, backward.median)
        let passes = layer.inputNeedsGradient ? 3.0 : 2.0
        return LayerResult(flops: passes * pass, seconds: fm + bm,
                           forwardRate: pass / fm / 1e9, backwardRate: (passes - 1) * pass / bm / 1e9)
    }

    private func median(warmup: Int, count: Int, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        let clock = ContinuousClock()
        return (0..<count).map { _ in clock.measure(body).seconds }.median
    }
}

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

extension String {
    /// Left-aligned in a column of `width` characters.
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

extension Array where Element == Double {
    var median: Double {
        let sorted = self.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
