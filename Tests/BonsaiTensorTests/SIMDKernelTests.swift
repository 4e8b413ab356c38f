import CKernels
import Foundation
import Testing
@testable import BonsaiTensor

/// The C kernels (Sources/CKernels) at every instruction-set level this CPU runs — the portable
/// fallback always, AVX2 and AVX-512 where present — against plain Double references: GELU, its
/// gradient and the row softmax, on odd sizes with tails shorter than a vector, and invariant to
/// where a parallel split cuts the data.
@Suite struct SIMDKernelTests {
    /// Every level up to the detected one (the kernels lower a higher request to it anyway).
    static var levels: [Int32] { Array(0...SIMDDispatch.level) }

    static let sizes = [0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1023]

    /// Values over [−9, 9] plus zeros, the saturated tails and large magnitudes.
    static func inputs(_ count: Int, seed: UInt64) -> [Float] {
        var rng = RandomGenerator(seed: seed)
        let special: [Float] = [0, -0.0, 4, -4, 5.5, -5.5, 40, -40, 1e-20, -1e-20, 12, -87]
        return (0..<count).map { i in
            i % 7 == 3 ? special[(i / 7) % special.count] : Float(-9 + 18 * Double(rng.next() % 1_000_000) / 1_000_000)
        }
    }

    static func gelu(_ v: Double) -> (value: Double, derivative: Double) {
        let cdf = 0.5 * (1 + Foundation.erf(v / 2.0.squareRoot()))
        let pdf = Foundation.exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
        return (v * cdf, cdf + v * pdf)
    }

    @Test(arguments: levels)
    func geluMatchesLibm(level: Int32) {
        for count in Self.sizes {
            let x = Self.inputs(count, seed: UInt64(count) + 1)
            let g = (0..<count).map { Float(1 + ($0 % 5)) / 4 }
            var y = [Float](repeating: .nan, count: count), d = y
            bonsai_gelu_forward_f32(level, x, &y, count)
            bonsai_gelu_backward_f32(level, x, g, &d, count)
            var worstValue = 0.0, worstGradient = 0.0
            for i in 0..<count {
                let (value, derivative) = Self.gelu(Double(x[i]))
                let grad = Double(g[i]) * derivative
                worstValue = max(worstValue, abs(Double(y[i]) - value) / max(abs(value), 1))
                worstGradient = max(worstGradient, abs(Double(d[i]) - grad) / max(abs(grad), 1))
            }
            #expect(worstValue < 1e-6, "level \(level) count \(count): GELU value error \(worstValue)")
            #expect(worstGradient < 1e-6, "level \(level) count \(count): GELU gradient error \(worstGradient)")
        }
    }

    /// The Swift reference loop (`GeluKernel.value`/`derivative`, 4-wide, no FMA) and every level
    /// agree closely; NaN stays NaN, gelu(+∞) = +∞.
    @Test(arguments: levels)
    func geluAgreesWithSwiftReferenceAndSpecialValues(level: Int32) {
        let x: [Float] = Self.inputs(257, seed: 9) + [.nan, .infinity, -.infinity]
        let n = x.count
        var y = [Float](repeating: 0, count: n), d = y
        bonsai_gelu_forward_f32(level, x, &y, n)
        bonsai_gelu_backward_f32(level, x, [Float](repeating: 1, count: n), &d, n)
        for i in 0..<(n - 3) {
            let (rv, rd) = (GeluKernel.value(x[i]), GeluKernel.derivative(x[i]))
            #expect(abs(y[i] - rv) <= 1e-6 * max(abs(rv), 1), "level \(level) x \(x[i]): \(y[i]) vs \(rv)")
            #expect(abs(d[i] - rd) <= 1e-6 * max(abs(rd), 1), "level \(level) x \(x[i]): \(d[i]) vs \(rd)")
        }
        #expect(y[n - 3].isNaN && d[n - 3].isNaN, "level \(level): NaN input")
        // gelu'(+∞) = 1 + ∞·e^{−∞}: ∞·0 is NaN, as in the formula evaluated by PyTorch.
        #expect(y[n - 2] == .infinity && (d[n - 2] == 1 || d[n - 2].isNaN), "level \(level): +∞ gives \(y[n - 2]), \(d[n - 2])")
        #expect(d[n - 1].isNaN || d[n - 1] == 0, "level \(level): −∞ gradient \(d[n - 1])")
    }

    /// An element's result does not depend on its position relative to the vector body and tail,
    /// so splitting a loop anywhere (1 vs 2 threads) gives the same bits.
    @Test(arguments: levels)
    func geluIsSplitInvariant(level: Int32) {
        let count = 203
        let x = Self.inputs(count, seed: 77)
        let g = (0..<count).map { Float(($0 % 9) - 4) / 3 }
        var whole = [Float](repeating: 0, count: count), wholeGrad = whole
        bonsai_gelu_forward_f32(level, x, &whole, count)
        bonsai_gelu_backward_f32(level, x, g, &wholeGrad, count)
        for cut in [1, 5, 13, 100, 202] {
            var parts = [Float](repeating: 0, count: count), partsGrad = parts
            x.withUnsafeBufferPointer { px in g.withUnsafeBufferPointer { pg in
                parts.withUnsafeMutableBufferPointer { py in partsGrad.withUnsafeMutableBufferPointer { pd in
                    bonsai_gelu_forward_f32(level, px.baseAddress!, py.baseAddress!, cut)
                    bonsai_gelu_forward_f32(level, px.baseAddress! + cut, py.baseAddress! + cut, count - cut)
                    bonsai_gelu_backward_f32(level, px.baseAddress!, pg.baseAddress!, pd.baseAddress!, cut)
                    bonsai_gelu_backward_f32(level, px.baseAddress! + cut, pg.baseAddress! + cut,
                                             pd.baseAddress! + cut, count - cut)
                } }
            } }
            #expect(parts == whole && partsGrad == wholeGrad, "level \(level): split at \(cut) changed the bits")
        }
    }

    @Test(arguments: levels)
    func softmaxRowsMatchReference(level: Int32) {
        for width in [1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100] {
            let rows = 5
            var rng = RandomGenerator(seed: UInt64(width))
            var x = (0..<(rows * width)).map { _ in Float(rng.nextNormal() * 4) }
            // Row 1: some masked keys (−∞) and one huge gap; row 2: equal values; row 3: a NaN-free
            // row with large magnitudes.
            for j in stride(from: 0, to: width, by: 3) where width > 1 { x[width + j] = -.infinity }
            if width > 1 { x[width + 1] = 50 }
            for j in 0..<width { x[2 * width + j] = 0.25 }
            for j in 0..<width { x[3 * width + j] = Float(j % 4) * 30 - 60 }
            let input = x
            bonsai_softmax_rows_f32(level, &x, rows, width)
            for r in 0..<rows {
                let row = input[(r * width)..<((r + 1) * width)].map(Double.init)
                let maximum = row.max()!
                let exps = row.map { Foundation.exp($0 - maximum) }
                let total = exps.reduce(0, +)
                for j in 0..<width {
                    let expected = exps[j] / total, actual = Double(x[r * width + j])
                    #expect(abs(actual - expected) <= 2e-6 * max(expected, 1e-3),
                            "level \(level) width \(width) row \(r) col \(j): \(actual) vs \(expected)")
                    if row[j] == -.infinity { #expect(actual == 0, "masked key must get exactly 0") }
                }
            }
        }
    }

    /// Column sums in row order: the same bits as the plain Float loop at every level, for column
    /// counts around the vector widths and a row stride wider than the summed columns.
    @Test(arguments: levels)
    func sumRowsMatchesPlainLoopBitwise(level: Int32) {
        for (rows, n) in [(1, 1), (3, 5), (17, 8), (9, 16), (33, 63), (5, 64), (2, 65), (100, 130), (0, 7)] {
            let stride = n + 3
            var rng = RandomGenerator(seed: UInt64(rows * 1000 + n))
            let x = (0..<(max(rows, 1) * stride)).map { _ in Float(rng.nextNormal()) }
            var expected = [Float](repeating: 0, count: n)
            for j in 0..<n {
                guard rows > 0 else { break }
                var total = x[j]
                for r in 1..<max(rows, 1) { total += x[r * stride + j] }
                expected[j] = total
            }
            var out = [Float](repeating: .nan, count: n)
            bonsai_sum_rows_f32(level, x, rows, stride, n, &out)
            #expect(out == expected, "level \(level) rows \(rows) n \(n)")
        }
    }

    /// The detected level is one the kernels know (GeluKernelTests check the tensor op at it, on 1
    /// and 2 threads).
    @Test func detectedLevelIsValid() {
        #expect((0...2).contains(SIMDDispatch.level))
        #expect(["portable", "avx2", "avx512"].contains(SIMDDispatch.levelName))
    }
}
