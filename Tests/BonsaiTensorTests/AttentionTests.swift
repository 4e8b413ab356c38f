import Foundation
import Testing
import BonsaiTensor

/// Multi-head self-attention: a plain-loop reference on odd shapes, finite differences with a
/// padding mask, and the edge of a sequence that is all padding.
@Suite struct AttentionTests {
    static func randomWeights(embed e: Int, seed: UInt64, dtype: DType = .float64) -> MultiHeadAttentionWeights {
        MultiHeadAttentionWeights(inProjWeight: randomTensor([3 * e, e], seed: seed, dtype: dtype, scale: 0.5),
                                  inProjBias: randomTensor([3 * e], seed: seed + 1, dtype: dtype, scale: 0.2),
                                  outProjWeight: randomTensor([e, e], seed: seed + 2, dtype: dtype, scale: 0.5),
                                  outProjBias: randomTensor([e], seed: seed + 3, dtype: dtype, scale: 0.2))
    }

    /// Attention written out with scalar loops in Float64, straight from the definition.
    static func reference(_ x: Tensor, _ w: MultiHeadAttentionWeights, heads: Int, padding: [Bool]?) -> [Double] {
        let (b, t, e) = (x.shape[0], x.shape[1], x.shape[2])
        let dh = e / heads
        let xs = x.doubles, wi = w.inProjWeight.doubles, bi = w.inProjBias.doubles
        let wo = w.outProjWeight.doubles, bo = w.outProjBias.doubles
        var out = [Double](repeating: 0, count: b * t * e)
        for s in 0..<b {
            // proj[i][r] = Σ_k x[s, i, k]·W_in[r, k] + b_in[r] for r in 0..<3E
            var proj = [[Double]](repeating: [Double](repeating: 0, count: 3 * e), count: t)
            for i in 0..<t {
                for r in 0..<(3 * e) {
                    var acc = bi[r]
                    for k in 0..<e { acc += xs[(s * t + i) * e + k] * wi[r * e + k] }
                    proj[i][r] = acc
                }
            }
            let allPadded = padding.map { p in (0..<t).allSatisfy { p[s * t + $0] } } ?? false
            var context = [[Double]](repeating: [Double](repeating: 0, count: e), count: t)
            for h in 0..<heads where !allPadded {
                for i in 0..<t {
                    var scores = [Double](repeating: -.infinity, count: t)
                    for j in 0..<t where !(padding?[s * t + j] ?? false) {
                        var dot = 0.0
                        for d in 0..<dh { dot += proj[i][h * dh + d] * proj[j][e + h * dh + d] }
                        scores[j] = dot / Double(dh).squareRoot()
                    }
                    let top = scores.max()!
                    let weights = scores.map { exp($0 - top) }
                    let total = weights.reduce(0, +)
                    for j in 0..<t {
                        for d in 0..<dh { context[i][h * dh + d] += weights[j] / total * proj[j][2 * e + h * dh + d] }
                    }
                }
            }
            for i in 0..<t {
                for r in 0..<e {
                    var acc = bo[r]
                    for k in 0..<e { acc += context[i][k] * wo[r * e + k] }
                    out[(s * t + i) * e + r] = acc
                }
            }
        }
        return out
    }

    @Test(arguments: [(2, 5, 6, 3), (3, 1, 4, 1), (1, 7, 8, 2), (2, 4, 6, 6)])
    func matchesReference(_ shape: (Int, Int, Int, Int)) {
        let (b, t, e, heads) = shape
        for dtype in [DType.float32, .float64] {
            let x = randomTensor([b, t, e], seed: 81, dtype: dtype)
            let w = Self.randomWeights(embed: e, seed: 82, dtype: dtype)
            var padding = [Bool](repeating: false, count: b * t)
            if t > 2 { padding[t - 1] = true; padding[t - 2] = true }
            for mask in [nil, padding] {
                let y = Engine.withThreads(2) { multiHeadSelfAttention(x, weights: w, heads: heads, keyPaddingMask: mask) }
                let expected = Tensor(shape: [b, t, e], scalars: Self.reference(x, w, heads: heads, padding: mask))
                expectClose(y, expected, "attention \(shape) \(dtype) mask \(mask != nil)",
                            tolerance: dtype == .float32 ? 1e-5 : 1e-12)
            }
        }
    }

    @Test func gradientsWithPaddingMask() {
        let (b, t, e, heads) = (2, 4, 6, 2)
        let x = randomTensor([b, t, e], seed: 91)
        let w = Self.randomWeights(embed: e, seed: 92)
        let padding = [false, false, true, false, false, false, false, true]
        let inputs = [x, w.inProjWeight, w.inProjBias, w.outProjWeight, w.outProjBias]
        expectGradientsMatch(inputs, "attention with padding mask") { xs in
            let weights = MultiHeadAttentionWeights(inProjWeight: xs[1], inProjBias: xs[2], outProjWeight: xs[3], outProjBias: xs[4])
            return multiHeadSelfAttention(xs[0], weights: weights, heads: heads, keyPaddingMask: padding)
        }
    }

    /// Padded keys get no weight: changing their values and keys changes nothing for the others.
    @Test func paddedKeysAreIgnored() {
        let w = Self.randomWeights(embed: 4, seed: 93)
        var values = randomTensor([1, 3, 4], seed: 94).doubles
        let padding = [false, false, true]
        let y1 = multiHeadSelfAttention(Tensor(shape: [1, 3, 4], scalars: values), weights: w, heads: 2, keyPaddingMask: padding)
        for k in 8..<12 { values[k] += 5 }
        let y2 = multiHeadSelfAttention(Tensor(shape: [1, 3, 4], scalars: values), weights: w, heads: 2, keyPaddingMask: padding)
        #expect(relativeError(y1.sliced(axis: 1, start: 0, length: 2), y2.sliced(axis: 1, start: 0, length: 2)) < 1e-12)
    }

    /// A sequence that is all padding attends to nothing: output is the output bias, finite, and
    /// gradients stay finite (no 0/0 softmax).
    @Test func fullyPaddedSequence() {
        let (b, t, e) = (2, 3, 4)
        let x = randomTensor([b, t, e], seed: 95)
        let w = Self.randomWeights(embed: e, seed: 96)
        let padding = [true, true, true, false, true, false]
        let y = multiHeadSelfAttention(x, weights: w, heads: 2, keyPaddingMask: padding)
        #expect(y.isFinite)
        let bias = w.outProjBias.doubles
        for i in 0..<t { for r in 0..<e { #expect(abs(y[0, i, r] - bias[r]) < 1e-12) } }
        let expected = Tensor(shape: [b, t, e], scalars: Self.reference(x, w, heads: 2, padding: padding))
        expectClose(y, expected, "attention with an all-padding sequence", tolerance: 1e-12)
        expectGradientsMatch([x, w.inProjWeight], "attention all-padding sequence") { xs in
            var weights = w
            weights.inProjWeight = xs[1]
            return multiHeadSelfAttention(xs[0], weights: weights, heads: 2, keyPaddingMask: padding)
        }
    }

    @Test func attentionDropoutIsSeeded() {
        let x = randomTensor([2, 5, 4], seed: 97)
        let w = Self.randomWeights(embed: 4, seed: 98)
        var r1 = RandomGenerator(seed: 4), r2 = RandomGenerator(seed: 4)
        let a = multiHeadSelfAttention(x, weights: w, heads: 2, keyPaddingMask: nil, dropout: 0.5, training: true, rng: &r1)
        let b = multiHeadSelfAttention(x, weights: w, heads: 2, keyPaddingMask: nil, dropout: 0.5, training: true, rng: &r2)
        let plain = multiHeadSelfAttention(x, weights: w, heads: 2)
        #expect(a.doubles == b.doubles)
        #expect(relativeError(a, plain) > 1e-3, "dropout on the attention weights changes the output")
        var r3 = RandomGenerator(seed: 4)
        let eval = multiHeadSelfAttention(x, weights: w, heads: 2, keyPaddingMask: nil, dropout: 0.5, training: false, rng: &r3)
        #expect(eval.doubles == plain.doubles)
    }

    @Test func weightsByPyTorchName() throws {
        let w = Self.randomWeights(embed: 4, seed: 99)
        let dict = Dictionary(uniqueKeysWithValues: w.namedParameters.map { ("attn." + $0.name, $0.tensor) })
        let read = try MultiHeadAttentionWeights(parameters: dict, prefix: "attn.")
        #expect(read.inProjWeight.doubles == w.inProjWeight.doubles && read.outProjBias.doubles == w.outProjBias.doubles)
        var missing = dict
        missing["attn.out_proj.bias"] = nil
        #expect(throws: TensorError.self) { try MultiHeadAttentionWeights(parameters: missing, prefix: "attn.") }
        var misshapen = dict
        misshapen["attn.in_proj_bias"] = Tensor.zeros([8])
        #expect(throws: TensorError.self) { try MultiHeadAttentionWeights(parameters: misshapen, prefix: "attn.") }
    }
}
