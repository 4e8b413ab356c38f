import Foundation
import Testing
import BonsaiTensor

/// The vectorised, split GELU loops on a Float32 tensor large enough to be split (odd size, values
/// over [−9, 9] and the saturated tails): forward and gradient against Float64 libm formulas, and
/// the same bits on one and two threads.
@Suite struct GeluKernelTests {
    @Test func float32MatchesLibmOnAnyThreadCount() {
        let count = 70_001
        let values = (0..<count).map { i in -9.0 + 18.0 * Double(i) / Double(count - 1) }
        let x = Tensor(shape: [count], scalars: values.map { Float($0) }).requiringGrad()
        let seed = Tensor(shape: [count], scalars: (0..<count).map { Float(1 + ($0 % 5)) / 4 })
        func run(_ threads: Int) -> (Tensor, Tensor) {
            Engine.withThreads(threads) {
                let y = x.gelu()
                return (y, gradients(of: y, withRespectTo: [x], seed: seed)[0])
            }
        }
        let (y1, g1) = run(1), (y2, g2) = run(2)
        #expect(y1.floats == y2.floats && g1.floats == g2.floats, "thread count changed GELU")
        let ys = y2.doubles, gs = g2.doubles, seeds = seed.doubles
        var worstValue = 0.0, worstGradient = 0.0
        for i in 0..<count {
            let v = Double(Float(values[i]))
            let cdf = 0.5 * (1 + Foundation.erf(v / 2.0.squareRoot()))
            let pdf = Foundation.exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
            worstValue = max(worstValue, abs(ys[i] - v * cdf) / max(abs(v * cdf), 1))
            worstGradient = max(worstGradient, abs(gs[i] - seeds[i] * (cdf + v * pdf)) / max(abs(seeds[i] * (cdf + v * pdf)), 1))
        }
        #expect(worstValue < 1e-6, "GELU value error \(worstValue)")
        #expect(worstGradient < 1e-6, "GELU gradient error \(worstGradient)")
    }
}
