import Testing
import BonsaiTensor

/// The fast convolution paths (im2col + GEMM with tiles, 1×1, depthwise) against the plain
/// direct-loop ``ConvReference`` on many shapes, and thread budgets against each other.
@Suite struct ConvKernelTests {
    struct Case: CustomStringConvertible, Sendable {
        var input: [Int], weight: [Int]
        var geometry: Conv2dGeometry
        var bias: Bool
        var description: String { "x\(input) w\(weight) \(geometry) bias \(bias)" }
    }

    /// Hand-picked shapes covering each kernel path and edge.
    static let fixedCases: [Case] = [
        Case(input: [2, 3, 9, 9], weight: [4, 3, 3, 3], geometry: .init(stride: 1, padding: 1), bias: true),
        Case(input: [3, 5, 7, 11], weight: [6, 5, 3, 3], geometry: .init(stride: 2, padding: 1), bias: false),
        Case(input: [2, 4, 8, 6], weight: [6, 2, 3, 2], geometry: .init(strideH: 2, strideW: 1, padH: 1, padW: 0, groups: 2), bias: true),
        Case(input: [2, 6, 7, 7], weight: [6, 1, 3, 3], geometry: .init(stride: 1, padding: 1, groups: 6), bias: true),
        Case(input: [3, 4, 9, 8], weight: [8, 1, 5, 5], geometry: .init(stride: 2, padding: 2, groups: 4), bias: false),
        Case(input: [4, 5, 6, 6], weight: [7, 5, 1, 1], geometry: .init(), bias: true),
        Case(input: [3, 6, 7, 9], weight: [4, 6, 1, 1], geometry: .init(stride: 2), bias: false),
        Case(input: [5, 3, 4, 4], weight: [5, 3, 3, 3], geometry: .init(stride: 1, padding: 1), bias: true),
        Case(input: [7, 4, 5, 3], weight: [6, 2, 3, 3], geometry: .init(stride: 1, padding: 2, groups: 2), bias: true),
        Case(input: [1, 3, 13, 10], weight: [2, 3, 4, 4], geometry: .init(stride: 3, padding: 1), bias: false),
        Case(input: [2, 8, 5, 5], weight: [4, 4, 1, 1], geometry: .init(groups: 2), bias: true),
        Case(input: [2, 2, 3, 3], weight: [3, 2, 3, 3], geometry: .init(), bias: true),
        // Stride-1 "same width" layouts (the shifted-copy im2col): kernel wider than the image,
        // and a 3×1 kernel without padding (rows shrink, columns do not).
        Case(input: [2, 3, 3, 4], weight: [4, 3, 5, 5], geometry: .init(stride: 1, padding: 2), bias: true),
        Case(input: [3, 2, 6, 5], weight: [3, 2, 3, 1], geometry: .init(), bias: false),
        Case(input: [2, 4, 5, 7], weight: [4, 2, 2, 3], geometry: .init(strideH: 1, strideW: 1, padH: 1, padW: 1, groups: 2), bias: true),
        // Strided layouts read through phase planes (Wo = ⌈W / sw⌉): stride 3, and mixed strides.
        Case(input: [2, 3, 7, 7], weight: [4, 3, 3, 3], geometry: .init(stride: 3, padding: 1), bias: true),
        Case(input: [2, 3, 7, 6], weight: [4, 3, 3, 3], geometry: .init(strideH: 2, strideW: 1, padH: 1, padW: 1), bias: false),
        Case(input: [2, 2, 5, 9], weight: [3, 2, 2, 4], geometry: .init(strideH: 1, strideW: 3, padH: 0, padW: 1), bias: true),
        Case(input: [3, 4, 6, 5], weight: [6, 2, 1, 1], geometry: .init(strideH: 2, strideW: 2, padH: 0, padW: 0, groups: 2), bias: false),
        // A 1×3 kernel at stride 2 never reads the odd rows: that phase plane is skipped.
        Case(input: [2, 3, 6, 7], weight: [4, 3, 1, 3], geometry: .init(strideH: 2, strideW: 2, padH: 0, padW: 1), bias: true),
        // Planes of more than 256 output pixels are processed in chunks of output rows: with groups
        // (shifted layout), at stride 2 (phase planes), and without padding (row runs).
        Case(input: [2, 4, 18, 17], weight: [6, 2, 3, 3], geometry: .init(stride: 1, padding: 1, groups: 2), bias: true),
        Case(input: [1, 4, 36, 34], weight: [4, 2, 3, 3], geometry: .init(stride: 2, padding: 1, groups: 2), bias: true),
        Case(input: [2, 3, 20, 20], weight: [2, 3, 3, 3], geometry: .init(), bias: false),
        // 1×1 kernels at strides above 1 (the sampled gather / write-once scatter): odd sizes whose
        // last sample row or column leaves a remainder, mixed strides, groups, and a plane of more
        // than 256 outputs (chunked rows).
        Case(input: [3, 5, 9, 11], weight: [4, 5, 1, 1], geometry: .init(stride: 2), bias: true),
        Case(input: [2, 4, 10, 7], weight: [6, 4, 1, 1], geometry: .init(strideH: 3, strideW: 2, padH: 0, padW: 0), bias: false),
        Case(input: [2, 6, 8, 9], weight: [4, 3, 1, 1], geometry: .init(strideH: 1, strideW: 3, padH: 0, padW: 0, groups: 2), bias: true),
        Case(input: [1, 3, 40, 37], weight: [5, 3, 1, 1], geometry: .init(stride: 2), bias: false),
        Case(input: [5, 16, 16, 16], weight: [32, 16, 1, 1], geometry: .init(stride: 2), bias: false),
        // Stride 1 with 8–32 input channels per group and ≥ 256 outputs per plane: the forward (and
        // the input gradient, a forward of dY) as GEMMs over shifted views of the padded input
        // (ConvWide): odd sizes, groups, 5×5, no padding, asymmetric padding and a 3×1 kernel.
        Case(input: [2, 8, 16, 17], weight: [12, 8, 3, 3], geometry: .init(stride: 1, padding: 1), bias: true),
        Case(input: [1, 18, 20, 16], weight: [6, 9, 3, 3], geometry: .init(stride: 1, padding: 1, groups: 2), bias: false),
        Case(input: [2, 8, 18, 18], weight: [9, 8, 5, 5], geometry: .init(stride: 1, padding: 2), bias: true),
        Case(input: [2, 10, 21, 19], weight: [8, 10, 3, 3], geometry: .init(), bias: false),
        Case(input: [2, 8, 16, 16], weight: [10, 8, 3, 1], geometry: .init(strideH: 1, strideW: 1, padH: 1, padW: 0), bias: true),
        Case(input: [1, 9, 17, 15], weight: [11, 9, 4, 2], geometry: .init(strideH: 1, strideW: 1, padH: 2, padW: 1), bias: true),
    ]

    /// Seeded random shapes: odd sizes, strides 1–3, padding 0–2, groups 1, 2 or depthwise.
    static let randomCases: [Case] = (0..<12).map { seed in
        var rng = RandomGenerator(seed: 1000 + UInt64(seed))
        let kind = Int.random(in: 0..<3, using: &rng)
        let groups = kind == 0 ? 1 : kind == 1 ? 2 : Int.random(in: 2...5, using: &rng)
        let inPer = kind == 2 ? 1 : Int.random(in: 1...3, using: &rng)
        let outPer = Int.random(in: 1...3, using: &rng)
        let (kh, kw) = (Int.random(in: 1...4, using: &rng), Int.random(in: 1...4, using: &rng))
        let geometry = Conv2dGeometry(strideH: Int.random(in: 1...3, using: &rng), strideW: Int.random(in: 1...3, using: &rng),
                                      padH: Int.random(in: 0...2, using: &rng), padW: Int.random(in: 0...2, using: &rng),
                                      groups: groups)
        let input = [Int.random(in: 1...5, using: &rng), inPer * groups,
                     Int.random(in: kh...(kh + 8), using: &rng), Int.random(in: kw...(kw + 8), using: &rng)]
        return Case(input: input, weight: [outPer * groups, inPer, kh, kw], geometry: geometry, bias: Bool.random(using: &rng))
    }

    @Test(arguments: fixedCases + randomCases, [DType.float32, .float64])
    func fastMatchesReference(_ c: Case, dtype: DType) {
        let tolerance = dtype == .float32 ? 2e-5 : 1e-12
        let x = randomTensor(c.input, seed: 1, dtype: dtype).requiringGrad()
        let w = randomTensor(c.weight, seed: 2, dtype: dtype).requiringGrad()
        let b = c.bias ? randomTensor([c.weight[0]], seed: 3, dtype: dtype).requiringGrad() : nil
        let y = conv2d(x, weight: w, bias: b, geometry: c.geometry)
        let expected = ConvReference.forward(x.detached(), weight: w.detached(), bias: b?.detached(), geometry: c.geometry)
        #expect(y.dtype == dtype)
        expectClose(y, expected, "\(c) \(dtype) output", tolerance: tolerance)

        let g = randomTensor(y.shape, seed: 4, dtype: dtype)
        let grads = gradients(of: (y * g).sum(), withRespectTo: [x, w] + (b.map { [$0] } ?? []))
        expectClose(grads[0], ConvReference.inputGradient(g, weight: w.detached(), inputShape: c.input, geometry: c.geometry),
                    "\(c) \(dtype) grad input", tolerance: tolerance)
        expectClose(grads[1], ConvReference.weightGradient(g, input: x.detached(), weightShape: c.weight, geometry: c.geometry),
                    "\(c) \(dtype) grad weight", tolerance: tolerance)
        if b != nil {
            // db[o] = Σ_{n, oh, ow} g[n, o, oh, ow], by a plain loop.
            let gs = g.doubles, (n, o, plane) = (y.shape[0], y.shape[1], y.shape[2] * y.shape[3])
            var db = [Double](repeating: 0, count: o)
            for i in 0..<n { for j in 0..<o { for p in 0..<plane { db[j] += gs[(i * o + j) * plane + p] } } }
            expectClose(grads[2], Tensor(shape: [o], scalars: db), "\(c) \(dtype) grad bias", tolerance: tolerance)
        }
    }

    @Test func referenceAgreesWithFixture() throws {
        // The oracle itself is checked against PyTorch once (stride 2, padding 1).
        let f = try Fixture("conv2d_1")
        let geometry = Conv2dGeometry(stride: 2, padding: 1)
        let x = try f("input"), w = try f("weight"), g = try f("grad_output")
        expectClose(ConvReference.forward(x, weight: w, bias: try f("bias"), geometry: geometry), try f("output"), "reference output")
        expectClose(ConvReference.inputGradient(g, weight: w, inputShape: x.shape, geometry: geometry), try f("grad_input"),
                    "reference grad_input")
        expectClose(ConvReference.weightGradient(g, input: x, weightShape: w.shape, geometry: geometry), try f("grad_weight"),
                    "reference grad_weight")
    }

    static let threadCases: [Case] = [
        // Batch split over workers, with tiles (8×8 planes) and without (16×16).
        Case(input: [7, 8, 8, 8], weight: [16, 8, 3, 3], geometry: .init(stride: 1, padding: 1), bias: true),
        Case(input: [5, 6, 16, 16], weight: [8, 6, 3, 3], geometry: .init(stride: 2, padding: 1), bias: false),
        Case(input: [4, 8, 9, 9], weight: [8, 4, 3, 3], geometry: .init(stride: 1, padding: 1, groups: 2), bias: true),
        Case(input: [3, 8, 9, 9], weight: [16, 1, 3, 3], geometry: .init(stride: 1, padding: 1, groups: 8), bias: true),
        Case(input: [6, 16, 8, 8], weight: [32, 16, 1, 1], geometry: .init(), bias: true),
        Case(input: [5, 8, 17, 16], weight: [16, 8, 1, 1], geometry: .init(stride: 2), bias: false),
        Case(input: [3, 16, 16, 16], weight: [16, 16, 3, 3], geometry: .init(stride: 1, padding: 1), bias: true),
        // One image: the GEMMs themselves split across the budget.
        Case(input: [1, 16, 32, 32], weight: [32, 16, 3, 3], geometry: .init(stride: 1, padding: 1), bias: true),
    ]

    @Test(arguments: threadCases, [DType.float32, .float64])
    func twoThreadsMatchOne(_ c: Case, dtype: DType) {
        func run() -> [Tensor] {
            let x = randomTensor(c.input, seed: 5, dtype: dtype).requiringGrad()
            let w = randomTensor(c.weight, seed: 6, dtype: dtype).requiringGrad()
            let b = c.bias ? randomTensor([c.weight[0]], seed: 7, dtype: dtype).requiringGrad() : nil
            let y = conv2d(x, weight: w, bias: b, geometry: c.geometry)
            let g = randomTensor(y.shape, seed: 8, dtype: dtype)
            return [y] + gradients(of: (y * g).sum(), withRespectTo: [x, w] + (b.map { [$0] } ?? []))
        }
        let one = Engine.withThreads(1) { run() }
        let two = Engine.withThreads(2) { run() }
        // Only the summation order of the weight gradient's partial sums may differ.
        let tolerance = dtype == .float32 ? 1e-6 : 1e-14
        for (i, name) in ["output", "grad input", "grad weight", "grad bias"].prefix(one.count).enumerated() {
            expectClose(two[i], one[i], "\(c) \(dtype) \(name) at 2 threads vs 1", tolerance: tolerance)
        }
    }
}
