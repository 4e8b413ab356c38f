import Testing
@testable import BonsaiTensor

/// The split element-wise loops (two threads, above `Elementwise.parallelMinimum` per worker)
/// against plain loops: element-wise arithmetic is exact, so the results must be identical, for
/// the closure ops and for the ops that take their scalar as a parameter.
@Suite struct ElementwiseParallelTests {
    let count = 3 * Elementwise.parallelMinimum + 7

    func reference(_ x: Tensor, _ f: (Float) -> Float) -> [Float] { x.floats.map(f) }

    /// The first index where the arrays differ (nil when equal): arrays this long must not reach
    /// `#expect(a == b)`, whose failure message diffs them in quadratic time.
    func mismatch<T: Equatable>(_ a: [T], _ b: [T]) -> String? {
        guard a.count == b.count else { return "counts \(a.count) vs \(b.count)" }
        guard let i = a.indices.first(where: { a[$0] != b[$0] }) else { return nil }
        return "index \(i): \(a[i]) vs \(b[i])"
    }

    @Test func splitLoopsEqualPlainLoops() {
        let x = randomTensor([count], seed: 1).cast(to: .float32)
        let y = randomTensor([count], seed: 2).cast(to: .float32)
        Engine.withThreads(2) {
            #expect(Parallel.workerCount(count, minimumPerThread: Elementwise.parallelMinimum) == 2)
            #expect(mismatch((x + y).floats, zip(x.floats, y.floats).map { $0 + $1 }) == nil)
            #expect(mismatch((x * y).floats, zip(x.floats, y.floats).map { $0 * $1 }) == nil)
            #expect(mismatch(x.relu().floats, reference(x) { $0 > 0 ? $0 : 0 }) == nil)
            #expect(mismatch(x.scaled(by: 0.3).floats, reference(x) { $0 * Float(0.3) }) == nil)
            #expect(mismatch(x.shifted(by: -1.5).floats, reference(x) { $0 + Float(-1.5) }) == nil)
            #expect(mismatch(x.clamped(min: -0.5, max: 0.25).floats, reference(x) { Swift.min(Swift.max($0, -0.5), 0.25) }) == nil)
            #expect(mismatch(x.greater(than: 0.1).floats, reference(x) { $0 > 0.1 ? 1 : 0 }) == nil)
            let g = UnaryGradient.clamp(x: x, low: -0.5, high: 0.25, grad: y)
            #expect(mismatch(g.floats, zip(x.floats, y.floats).map { $0 >= -0.5 && $0 <= 0.25 ? $1 : 0 }) == nil)
        }
    }

    @Test func doublesTakeTheSamePath() {
        let x = randomTensor([count], seed: 3).cast(to: .float64)
        Engine.withThreads(2) {
            #expect(mismatch(x.scaled(by: 0.3).doubles, x.doubles.map { $0 * 0.3 }) == nil)
            #expect(mismatch(x.clamped(min: -0.5, max: 0.25).doubles, x.doubles.map { Swift.min(Swift.max($0, -0.5), 0.25) }) == nil)
        }
    }
}
