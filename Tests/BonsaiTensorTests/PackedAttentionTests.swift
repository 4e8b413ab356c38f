import Foundation
import Testing
import BonsaiTensor

/// The fused attention op (`packedSelfAttention`) against the composite of primitive ops it
/// replaced (permutes, matmuls, softmax, masking, dropout), forward and backward, on odd shapes,
/// with padding, all-padding sequences and dropout; plus Float64 finite differences of the op.
@Suite struct PackedAttentionTests {
    /// The composite: split the packed projection into heads with permutes, scale Q, `Q·Kᵀ`, add a
    /// −∞ mask at padded keys (not for all-padding sequences, whose weights are zeroed after the
    /// softmax), dropout drawn from `rng` exactly as the fused op draws it, `P·V`, heads back side
    /// by side.
    static func composite(_ qkv: Tensor, heads: Int, padding: [Bool]?, dropout p: Double,
                          rng: inout RandomGenerator) -> Tensor {
        let (b, t, e) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
        let dh = e / heads
        func part(_ i: Int) -> Tensor {
            qkv.sliced(axis: 2, start: i * e, length: e).reshaped([b, t, heads, dh]).permuted([0, 2, 1, 3])
        }
        let q = part(0).scaled(by: 1 / Double(dh).squareRoot()), k = part(1), v = part(2)
        var scores = q.matmul(k.transposed())
        var keepRows = [Double](repeating: 1, count: b * heads * t * t)
        if let padding {
            var additive = [Double](repeating: 0, count: b * t)
            for s in 0..<b {
                if (0..<t).allSatisfy({ padding[s * t + $0] }) {
                    for i in (s * heads * t * t)..<((s + 1) * heads * t * t) { keepRows[i] = 0 }
                    continue
                }
                for j in 0..<t where padding[s * t + j] { additive[s * t + j] = -.infinity }
            }
            scores = scores + Tensor(shape: [b, 1, 1, t], scalars: additive).cast(to: qkv.dtype)
        }
        var probabilities = scores.softmax().masked(by: Tensor(shape: [b, heads, t, t], scalars: keepRows).cast(to: qkv.dtype))
        probabilities = BonsaiTensor.dropout(probabilities, probability: p, training: true, rng: &rng)
        return probabilities.matmul(v).permuted([0, 2, 1, 3]).reshaped([b, t, e])
    }

    static func padding(batch b: Int, length t: Int, allPaddedEntry: Bool) -> [Bool] {
        var flags = [Bool](repeating: false, count: b * t)
        for s in 0..<b where t > 1 { flags[s * t + (s % t)] = true }   // one padded key per sequence
        if allPaddedEntry && b > 1 { for j in 0..<t { flags[(b - 1) * t + j] = true } }
        return flags
    }

    /// (B, T, E, H)
    static let shapes = [(3, 5, 6, 3), (2, 7, 4, 1), (1, 1, 2, 2), (2, 9, 10, 2), (5, 3, 3, 1)]

    @Test(arguments: shapes)
    func matchesComposite(_ shape: (Int, Int, Int, Int)) {
        let (b, t, e, heads) = shape
        for dtype in [DType.float32, .float64] {
            for (mask, p) in [(false, 0.0), (true, 0.0), (true, 0.3), (false, 0.5)] {
                let padding = mask ? Self.padding(batch: b, length: t, allPaddedEntry: true) : nil
                let qkv = randomTensor([b, t, 3 * e], seed: 11, dtype: dtype).requiringGrad()
                let seed = randomTensor([b, t, e], seed: 12, dtype: dtype)
                let label = "attention \(shape) \(dtype) mask \(mask) dropout \(p)"
                var r1 = RandomGenerator(seed: 5), r2 = RandomGenerator(seed: 5)
                let (fused, reference) = Engine.withThreads(2) {
                    (packedSelfAttention(qkv, heads: heads, keyPaddingMask: padding, dropout: p, training: true, rng: &r1),
                     Self.composite(qkv, heads: heads, padding: padding, dropout: p, rng: &r2))
                }
                #expect(r1.next() == r2.next(), "\(label): the dropout draws consume the same random stream")
                let tolerance = dtype == .float32 ? 2e-5 : 1e-12
                expectClose(fused, reference, "\(label) output", tolerance: tolerance)
                let gFused = Engine.withThreads(2) { gradients(of: fused, withRespectTo: [qkv], seed: seed)[0] }
                let gReference = gradients(of: reference, withRespectTo: [qkv], seed: seed)[0]
                expectClose(gFused, gReference, "\(label) gradient", tolerance: tolerance)
            }
        }
    }

    @Test func gradientCheckFloat64() {
        let (b, t, e, heads) = (3, 4, 6, 2)
        let qkv = randomTensor([b, t, 3 * e], seed: 21)
        let padding = Self.padding(batch: b, length: t, allPaddedEntry: true)
        for (mask, p) in [(nil, 0.0), (padding, 0.0), (padding, 0.4)] {
            expectGradientsMatch([qkv], "packed attention mask \(mask != nil) dropout \(p)") { xs in
                var rng = RandomGenerator(seed: 3)
                return packedSelfAttention(xs[0], heads: heads, keyPaddingMask: mask, dropout: p, training: true, rng: &rng)
            }
        }
    }

    /// Padded keys get exactly zero weight, so their keys and values receive zero gradient, and an
    /// all-padding sequence outputs zeros with zero gradient.
    @Test func paddedKeysGetNoGradient() {
        let (b, t, e) = (2, 3, 4)
        let padding = [false, true, false, true, true, true]
        let qkv = randomTensor([b, t, 3 * e], seed: 31).requiringGrad()
        var rng = RandomGenerator(seed: 1)
        let y = packedSelfAttention(qkv, heads: 2, keyPaddingMask: padding, dropout: 0, training: false, rng: &rng)
        let g = gradients(of: y, withRespectTo: [qkv], seed: randomTensor([b, t, e], seed: 32))[0]
        for c in e..<(3 * e) { #expect(g[0, 1, c] == 0, "key/value column \(c) of the padded token") }
        for i in 0..<t {
            for c in 0..<e { #expect(y[1, i, c] == 0) }
            for c in 0..<(3 * e) { #expect(g[1, i, c] == 0) }
        }
    }

    /// Splitting the (sequence, head) pairs over threads changes nothing.
    @Test func threadCountDoesNotChangeResults() {
        let qkv = randomTensor([4, 6, 24], seed: 41, dtype: .float32).requiringGrad()
        let seed = randomTensor([4, 6, 8], seed: 42, dtype: .float32)
        func run(_ threads: Int) -> (Tensor, Tensor) {
            Engine.withThreads(threads) {
                var rng = RandomGenerator(seed: 2)
                let y = packedSelfAttention(qkv, heads: 2, keyPaddingMask: nil, dropout: 0.2, training: true, rng: &rng)
                return (y, gradients(of: y, withRespectTo: [qkv], seed: seed)[0])
            }
        }
        let (y1, g1) = run(1), (y2, g2) = run(2)
        #expect(y1.floats == y2.floats)
        #expect(g1.floats == g2.floats)
    }
}
