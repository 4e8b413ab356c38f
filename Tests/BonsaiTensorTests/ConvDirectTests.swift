import Testing
@testable import BonsaiTensor

/// The C direct wide-grid convolution kernels (``ConvDirect``) at every instruction-set level this
/// CPU has (AVX2 + FMA and AVX-512F where available), against a plain Float64 loop of
/// `Yw[o, q] = Σ_c Σ_t W[o, c, t]·Xp[c, q + offsets[t]]`, on sizes that leave partial register
/// blocks in both directions: output channels not a multiple of 6 or 8 and position counts not a
/// multiple of 16 or 32. The whole conv2d op (which takes this path for Float32 at stride 1 with
/// 8–64 channels) is checked against the reference convolution in ``ConvKernelTests``.
@Suite struct ConvDirectTests {
    struct Case: CustomStringConvertible, Sendable {
        var channels: Int, outChannels: Int, height: Int, width: Int, kernelH: Int, kernelW: Int
        var description: String { "\(channels)→\(outChannels) \(kernelH)×\(kernelW) on \(height)×\(width)" }
    }

    static let cases: [Case] = [
        Case(channels: 1, outChannels: 1, height: 3, width: 3, kernelH: 1, kernelW: 1),
        Case(channels: 3, outChannels: 5, height: 7, width: 9, kernelH: 3, kernelW: 3),
        Case(channels: 16, outChannels: 16, height: 10, width: 10, kernelH: 3, kernelW: 3),
        Case(channels: 17, outChannels: 13, height: 12, width: 11, kernelH: 3, kernelW: 2),
        Case(channels: 8, outChannels: 7, height: 9, width: 34, kernelH: 5, kernelW: 5),
        Case(channels: 32, outChannels: 25, height: 6, width: 6, kernelH: 3, kernelW: 3),
        Case(channels: 3, outChannels: 64, height: 8, width: 10, kernelH: 3, kernelW: 3),
        Case(channels: 4, outChannels: 48, height: 7, width: 7, kernelH: 3, kernelW: 3),
        Case(channels: 2, outChannels: 40, height: 12, width: 12, kernelH: 5, kernelW: 5),
        Case(channels: 3, outChannels: 32, height: 11, width: 12, kernelH: 2, kernelW: 9),
    ]

    static var levels: [Int] { ConvDirect.detectedLevel > 0 ? Array(1...ConvDirect.detectedLevel) : [] }

    @Test(arguments: cases)
    func kernelsMatchPlainLoop(_ c: Case) {
        let plane = c.height * c.width
        let (outHeight, _) = (c.height - c.kernelH + 1, c.width - c.kernelW + 1)
        let count = outHeight * c.width
        let offsets = (0..<(c.kernelH * c.kernelW)).map { t in (t / c.kernelW) * c.width + t % c.kernelW }
        let x = randomTensor([c.channels * plane + ConvDirect.slack], seed: 31, dtype: .float32).floats
        let w = randomTensor([c.outChannels * c.channels * offsets.count], seed: 32, dtype: .float32).floats
        var expected = [Double](repeating: 0, count: c.outChannels * count)
        for o in 0..<c.outChannels {
            for q in 0..<count {
                var sum = 0.0
                for ch in 0..<c.channels {
                    for (t, offset) in offsets.enumerated() {
                        sum += Double(w[(o * c.channels + ch) * offsets.count + t]) * Double(x[ch * plane + q + offset])
                    }
                }
                expected[o * count + q] = sum
            }
        }
        let reference = Tensor(shape: [c.outChannels, count], scalars: expected)
        #expect(ConvDirect.detectedLevel >= 0 && ConvDirect.detectedLevel <= 2)
        for level in Self.levels {
            // A sentinel after the output checks that nothing is written past `count` per row.
            var out = [Float](repeating: .nan, count: c.outChannels * count + 16)
            let ran = x.withUnsafeBufferPointer { px in
                w.withUnsafeBufferPointer { pw in
                    out.withUnsafeMutableBufferPointer { po in
                        ConvDirect.wide(level: level, padded: px.baseAddress!, channels: c.channels, plane: plane,
                                        weight: pw.baseAddress!, outChannels: c.outChannels, offsets: offsets,
                                        output: po.baseAddress!, count: count)
                    }
                }
            }
            #expect(ran, "level \(level) should run on this CPU")
            let untouched = out.suffix(16).allSatisfy { $0.isNaN }
            #expect(untouched, "\(c) level \(level): wrote past the output")
            let actual = Tensor(shape: [c.outChannels, count], scalars: out.prefix(c.outChannels * count).map(Double.init))
            expectClose(actual, reference, "\(c) level \(level)", tolerance: 1e-5)
        }
    }

    @Test func unavailableLevelWritesNothing() {
        var out: [Float] = [42]
        let x = [Float](repeating: 1, count: 1 + ConvDirect.slack), w: [Float] = [2]
        let ran = x.withUnsafeBufferPointer { px in
            w.withUnsafeBufferPointer { pw in
                out.withUnsafeMutableBufferPointer { po in
                    ConvDirect.wide(level: 3, padded: px.baseAddress!, channels: 1, plane: 1, weight: pw.baseAddress!,
                                    outChannels: 1, offsets: [0], output: po.baseAddress!, count: 1)
                }
            }
        }
        #expect(!ran && out == [42], "level 3 does not exist: the call must refuse and leave the output alone")
    }
}

/// The direct weight-gradient kernel at every level against a plain Float64 loop, with output
/// channels that fill 32-lane blocks, 16-lane blocks and padded lanes, 3×3 (the 9-tap register
/// block), other kernels up to 8 wide (one register block per kernel row) and 9 wide (one tap at a
/// time).
@Suite struct ConvDirectWeightGradientTests {
    @Test(arguments: ConvDirectTests.cases)
    func kernelsMatchPlainLoop(_ c: ConvDirectTests.Case) {
        let plane = c.height * c.width
        let count = (c.height - c.kernelH + 1) * c.width
        let offsets = (0..<(c.kernelH * c.kernelW)).map { t in (t / c.kernelW) * c.width + t % c.kernelW }
        let ldo = (c.outChannels + 15) / 16 * 16
        let x = randomTensor([c.channels * plane + ConvDirect.slack], seed: 41, dtype: .float32).floats
        // dYᵀ with zero padding lanes, and a non-zero starting dWᵀ: the kernel accumulates.
        var dy = randomTensor([count * ldo], seed: 42, dtype: .float32).floats
        for q in 0..<count { for o in c.outChannels..<ldo { dy[q * ldo + o] = 0 } }
        let start = randomTensor([c.channels * offsets.count * ldo], seed: 43, dtype: .float32).floats
        var expected = start.map(Double.init)
        for ch in 0..<c.channels {
            for (t, offset) in offsets.enumerated() {
                for o in 0..<ldo {
                    var sum = 0.0
                    for q in 0..<count { sum += Double(dy[q * ldo + o]) * Double(x[ch * plane + q + offset]) }
                    expected[(ch * offsets.count + t) * ldo + o] += sum
                }
            }
        }
        let reference = Tensor(shape: [expected.count], scalars: expected)
        for level in ConvDirectTests.levels {
            var dw = start
            let ran = x.withUnsafeBufferPointer { px in
                dy.withUnsafeBufferPointer { pd in
                    dw.withUnsafeMutableBufferPointer { pw in
                        ConvDirect.weightGradient(level: level, padded: px.baseAddress!, channels: c.channels, plane: plane,
                                                  gradTransposed: pd.baseAddress!, ldo: ldo, offsets: offsets,
                                                  into: pw.baseAddress!, count: count)
                    }
                }
            }
            #expect(ran, "level \(level) should run on this CPU")
            expectClose(Tensor(shape: [dw.count], scalars: dw.map(Double.init)), reference, "\(c) weight gradient level \(level)",
                        tolerance: 1e-5)
        }
    }

    @Test func refusesLanesNotMultipleOf16() {
        let x = [Float](repeating: 1, count: 4 + ConvDirect.slack), dy = [Float](repeating: 1, count: 8)
        var dw = [Float](repeating: 7, count: 8)
        let ran = x.withUnsafeBufferPointer { px in
            dy.withUnsafeBufferPointer { pd in
                dw.withUnsafeMutableBufferPointer { pw in
                    ConvDirect.weightGradient(level: 1, padded: px.baseAddress!, channels: 1, plane: 4, gradTransposed: pd.baseAddress!,
                                              ldo: 8, offsets: [0], into: pw.baseAddress!, count: 1)
                }
            }
        }
        #expect(!ran && dw == [Float](repeating: 7, count: 8), "ldo 8 must be refused and leave dW alone")
    }
}
