import CKernels
import Foundation
import Testing
@testable import BonsaiTensor

/// The layer-norm C kernels at every level this CPU runs against the formulas in Float64, on widths
/// around the vector sizes; the parameter gradients are also checked bitwise against the plain loop
/// and against a split of the columns; the tensor op in Float32 against the same op in Float64.
@Suite struct SIMDLayerNormTests {
    static var levels: [Int32] { Array(0...SIMDDispatch.level) }
    static let widths = [1, 3, 7, 8, 9, 16, 17, 31, 33, 64, 100, 130]

    static func data(_ count: Int, seed: UInt64, offset: Double = 0) -> [Float] {
        var rng = RandomGenerator(seed: seed)
        return (0..<count).map { _ in Float(offset + rng.nextNormal() * 2) }
    }

    @Test(arguments: levels)
    func kernelsMatchFloat64Formulas(level: Int32) {
        for width in Self.widths {
            let rows = 6
            let x = Self.data(rows * width, seed: UInt64(width), offset: 3), g = Self.data(rows * width, seed: 99)
            let gamma = Self.data(width, seed: 5), beta = Self.data(width, seed: 6)
            var mean = [Double](repeating: 0, count: rows), inv = mean
            bonsai_layer_norm_statistics_f32(level, x, rows, width, 1e-5, &mean, &inv)
            var y = [Float](repeating: .nan, count: rows * width), dx = y
            bonsai_layer_norm_forward_f32(level, x, rows, width, mean, inv, gamma, beta, &y)
            bonsai_layer_norm_input_gradient_f32(level, x, g, gamma, mean, inv, rows, width, &dx)
            for r in 0..<rows {
                let row = (0..<width).map { Double(x[r * width + $0]) }
                let mu = row.reduce(0, +) / Double(width)
                let variance = row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(width)
                let sigmaInv = 1 / (variance + 1e-5).squareRoot()
                #expect(abs(mean[r] - mu) <= 1e-12 * max(1, abs(mu)), "level \(level) width \(width): mean")
                #expect(abs(inv[r] - sigmaInv) <= 1e-10 * sigmaInv, "level \(level) width \(width): 1/σ")
                let xhat = row.map { ($0 - mu) * sigmaInv }
                let gh = (0..<width).map { Double(g[r * width + $0]) * Double(gamma[$0]) }
                let meanG = gh.reduce(0, +) / Double(width)
                let meanGX = zip(gh, xhat).map { $0 * $1 }.reduce(0, +) / Double(width)
                for j in 0..<width {
                    let expectedY = xhat[j] * Double(gamma[j]) + Double(beta[j])
                    let expectedDx = sigmaInv * (gh[j] - meanG - xhat[j] * meanGX)
                    #expect(abs(Double(y[r * width + j]) - expectedY) <= 2e-6 * max(1, abs(expectedY)),
                            "level \(level) width \(width) y[\(r), \(j)]")
                    #expect(abs(Double(dx[r * width + j]) - expectedDx) <= 1e-5 * max(1, abs(expectedDx)),
                            "level \(level) width \(width) dx[\(r), \(j)]: \(dx[r * width + j]) vs \(expectedDx)")
                }
            }
        }
    }

    /// The parameter gradients: the plain loop's exact bits at every level, and a split of the
    /// columns anywhere gives the same bits.
    @Test(arguments: levels)
    func parameterGradientsAreBitExactAndSplitInvariant(level: Int32) {
        for width in Self.widths {
            let rows = 9
            let x = Self.data(rows * width, seed: UInt64(width) + 7), g = Self.data(rows * width, seed: 3)
            var rng = RandomGenerator(seed: 1)
            let mean = (0..<rows).map { _ in rng.nextNormal() }, inv = (0..<rows).map { _ in 0.5 + Double(rng.next() % 100) / 50 }
            var expectedW = [Double](repeating: 0, count: width), expectedB = expectedW
            for j in 0..<width {
                for r in 0..<rows {
                    let dy = Double(g[r * width + j])
                    expectedW[j] += dy * ((Double(x[r * width + j]) - mean[r]) * inv[r])
                    expectedB[j] += dy
                }
            }
            var dw = [Double](repeating: 0, count: width), db = dw
            bonsai_layer_norm_parameter_gradients_f32(level, x, g, mean, inv, rows, width, 0, width, &dw, &db)
            #expect(dw == expectedW && db == expectedB, "level \(level) width \(width): whole")
            let cut = width / 3
            var sw = [Double](repeating: 0, count: width), sb = sw
            sw.withUnsafeMutableBufferPointer { pw in sb.withUnsafeMutableBufferPointer { pb in
                bonsai_layer_norm_parameter_gradients_f32(level, x, g, mean, inv, rows, width, 0, cut, pw.baseAddress!, pb.baseAddress!)
                bonsai_layer_norm_parameter_gradients_f32(level, x, g, mean, inv, rows, width, cut, width - cut,
                                                          pw.baseAddress! + cut, pb.baseAddress! + cut)
            } }
            #expect(sw == expectedW && sb == expectedB, "level \(level) width \(width): split at \(cut)")
        }
    }

    /// The Float32 op (C kernels) against the Float64 op (Swift loops), forward and all gradients,
    /// on 1 and 2 threads (rows and columns then split).
    @Test(arguments: [7, 33, 128])
    func float32OpMatchesFloat64Op(width: Int) {
        let x = randomTensor([300, width], seed: 21, scale: 3), w = randomTensor([width], seed: 22)
        let b = randomTensor([width], seed: 23), seed = randomTensor([300, width], seed: 24)
        func run(_ dtype: DType, threads: Int) -> [Tensor] {
            Engine.withThreads(threads) {
                let inputs = [x, w, b].map { $0.cast(to: dtype).requiringGrad() }
                let y = layerNorm(inputs[0], weight: inputs[1], bias: inputs[2])
                return [y] + gradients(of: y, withRespectTo: inputs, seed: seed.cast(to: dtype))
            }
        }
        let reference = run(.float64, threads: 1)
        for threads in [1, 2] {
            let actual = run(.float32, threads: threads)
            for (i, name) in ["y", "dx", "dγ", "dβ"].enumerated() {
                expectClose(actual[i], reference[i], "layerNorm width \(width) threads \(threads) \(name)", tolerance: 1e-5)
            }
        }
    }
}
