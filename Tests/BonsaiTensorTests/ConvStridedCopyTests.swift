import Testing
@testable import BonsaiTensor

/// The strided gather / scatter loops of the im2col layouts (with their stride-1 and stride-2 fast
/// cases) against plain index loops, for every stride 1–4 and every run length 0–13, so each
/// remainder (odd lengths, a lone last sample at stride 2) is covered.
@Suite struct ConvStridedCopyTests {
    @Test func gatherAndScattersMatchPlainLoops() {
        for stride in 1...4 {
            for length in 0...13 {
                let count = length == 0 ? 0 : (length - 1) / stride + 1  // samples that fit in `length`
                let source = (0..<length).map { Double($0) + 1 }
                let samples = (0..<count).map { Double($0) * 10 - 3 }
                var gathered = [Double](repeating: .nan, count: count)
                source.withUnsafeBufferPointer { s in
                    gathered.withUnsafeMutableBufferPointer { g in
                        if count > 0 { StridedCopy.gather(s.baseAddress!, stride: stride, count: count, into: g.baseAddress!) }
                    }
                }
                #expect(gathered == (0..<count).map { source[$0 * stride] }, "gather stride \(stride) length \(length)")

                var filled = [Double](repeating: .nan, count: length)
                var scattered = [Double](repeating: -7, count: length)
                samples.withUnsafeBufferPointer { s in
                    filled.withUnsafeMutableBufferPointer { f in
                        guard length > 0 else { return }
                        StridedCopy.scatterFilling(s.baseAddress!, count: count, into: f.baseAddress!, stride: stride, length: length)
                    }
                    scattered.withUnsafeMutableBufferPointer { f in
                        guard count > 0 else { return }
                        StridedCopy.scatter(s.baseAddress!, count: count, into: f.baseAddress!, stride: stride)
                    }
                }
                let expectedFilled = (0..<length).map { $0 % stride == 0 ? samples[$0 / stride] : 0 }
                let expectedScattered = (0..<length).map { $0 % stride == 0 ? samples[$0 / stride] : -7 }
                #expect(filled == expectedFilled, "scatterFilling stride \(stride) length \(length)")
                #expect(scattered == expectedScattered, "scatter stride \(stride) length \(length)")
            }
        }
    }
}
