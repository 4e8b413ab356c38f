/// The `.sampled` layout of ``Im2col``: a 1×1 kernel without padding, at any stride.
///
/// Column entry `(c, oh·Wo + ow)` is `x[c, oh·sh, ow·sw]`, so every input element is read by at
/// most one entry. `unfold` is a strided gather; `fold`, the adjoint, is a scatter in which every
/// input element receives exactly one value — its column entry, or 0 for the rows and columns the
/// stride skips (and the floor-mode remainder past the last window) — so the input gradient is
/// written once, with neither a clearing pass (`beginFold` does nothing) nor a read-modify-write.
extension Im2col {
    static func unfoldSampled<T: TensorScalar>(_ x: UnsafePointer<T>, channels: Int, shape s: ConvShape, rows: Range<Int>,
                                               into col: UnsafeMutablePointer<T>, ld: Int) {
        let (width, outWidth, sh, sw) = (s.width, s.outWidth, s.strideH, s.strideW)
        for c in 0..<channels {
            let plane = x + c * s.inPlane, target = col + c * ld
            for oh in rows {
                let src = plane + oh * sh * width, dst = target + (oh - rows.lowerBound) * outWidth
                StridedCopy.gather(src, stride: sw, count: outWidth, into: dst)
            }
        }
    }

    /// Writes input rows `oh·sh ..< (oh + 1)·sh` for `oh` in `rows` (and, with the last output row,
    /// every input row below it) of `channels` planes from output rows `rows` of the column matrix.
    static func foldSampled<T: TensorScalar>(_ col: UnsafePointer<T>, ld: Int, channels: Int, shape s: ConvShape,
                                             rows: Range<Int>, into x: UnsafeMutablePointer<T>) {
        let (width, outWidth, sh, sw) = (s.width, s.outWidth, s.strideH, s.strideW)
        let firstRow = rows.lowerBound * sh
        let lastRow = rows.upperBound == s.outHeight ? s.height : rows.upperBound * sh
        for c in 0..<channels {
            let plane = x + c * s.inPlane, source = col + c * ld
            for ih in firstRow..<lastRow {
                let dst = plane + ih * width
                let oh = ih / sh
                guard ih == oh * sh, oh < rows.upperBound else {
                    dst.update(repeating: 0, count: width)
                    continue
                }
                // (Wo − 1)·sw ≤ W − 1: every sample lands inside the row.
                StridedCopy.scatterFilling(source + (oh - rows.lowerBound) * outWidth, count: outWidth, into: dst,
                                           stride: sw, length: width)
            }
        }
    }
}
