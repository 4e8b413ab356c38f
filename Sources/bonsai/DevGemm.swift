import BonsaiTensor

extension BenchEngine {
    /// DEV ONLY: GEMM rate for shapes.
    func gemmRate(m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false, calls: Int) -> Double {
        var rng = RandomGenerator(seed: 1)
        let a = (0..<(m * k)).map { _ in Float(rng.nextUnit() - 0.5) }
        let b = (0..<(k * n)).map { _ in Float(rng.nextUnit() - 0.5) }
        var c = [Float](repeating: 0, count: m * n)
        let seconds = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    median(warmup: 1, count: repetitions) {
                        for _ in 0..<calls {
                            Gemm.multiply(Gemm.Operands(transA: transA, transB: transB, m: m, n: n, k: k, beta: 1, a: pa.baseAddress!, lda: transA ? m : k,
                                                        b: pb.baseAddress!, ldb: transB ? k : n, c: pc.baseAddress!, ldc: n))
                        }
                    }
                }
            }
        }
        return 2 * Double(m * n * k * calls) / seconds / 1e9
    }
    func devGemms() {
        for (name, m, n, k, ta, tb) in [("dW3-64", 64, 27, 1024, false, true), ("dWt3-64", 27, 64, 1024, false, true), ("dW64", 64, 576, 1024, false, true), ("dWt64", 576, 64, 1024, false, true),
("dW3-16", 16, 27, 1024, false, true), ("dWt3-16", 27, 16, 1024, false, true), ("fwd3-64", 64, 1024, 27, false, false), ("fwd3-16", 16, 1024, 27, false, false),
                                       ("sq1024", 1024, 1024, 1024, false, false)] {
            let calls = Swift.max(1, 64 * 1024 * 144 * 16 / (m * n * k))
            print(name, String(format: "%.1f", gemmRate(m: m, n: n, k: k, transA: ta, transB: tb, calls: calls)))
        }
    }
}

extension BenchEngine {
    /// DEV: A/B within one process, alternating per repetition.
    func devAB(_ layers: [ConvLayerSpec], variants: [() -> Void]) {
        for layer in layers {
            var rng = RandomGenerator(seed: 2)
            let xData = Tensor.normal(layer.input, dtype: .float32, using: &rng)
            let x = layer.inputNeedsGradient ? xData.requiringGrad() : xData
            let w = Tensor.normal(layer.weight, std: 0.1, dtype: .float32, using: &rng).requiringGrad()
            let wanted = (layer.inputNeedsGradient ? [x] : []) + [w]
            let seed = Engine.withoutGrad { conv2d(xData, weight: w, geometry: layer.geometry) }
            var times = Array(repeating: [Double](), count: variants.count)
            for rep in 0...repetitions {
                for (i, v) in variants.enumerated() {
                    v()
                    let t = ContinuousClock().measure {
                        let y = conv2d(x, weight: w, geometry: layer.geometry)
                        _ = gradients(of: y, withRespectTo: wanted, seed: seed)
                    }.seconds
                    if rep > 0 { times[i].append(t) }
                }
            }
            let flops = layer.flopsPerPass * (layer.inputNeedsGradient ? 3 : 2)
            let rates = times.map { flops / $0.median / 1e9 }
            let ratios = (1..<variants.count).map { v in (0..<repetitions).map { times[0][$0] / times[v][$0] }.median }
            print(layer.name.padded(34), rates.map { String(format: "%6.1f", $0) }.joined(separator: " "), " speedup vs A:",
                  ratios.map { String(format: "%.2f", $0) }.joined(separator: " "))
        }
    }
}
