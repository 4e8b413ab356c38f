/// im2col and its adjoint col2im: the data movement that turns a convolution into a GEMM.
///
/// `unfold` writes, for `channels` input planes of one image, the matrix
///
///     col[(c·kh + i)·kw + j, oh·Wo + ow] = x[c, oh·sh − ph + i, ow·sw − pw + j]   (0 outside the image)
///
/// into rows of stride `ld` (so several images can sit side by side in one wider matrix and share
/// one GEMM). `fold` is the exact adjoint, `x[c, ih, iw] += Σ col[…]` over every entry that read
/// `(c, ih, iw)`. Both work on a range of output rows at a time, so a large plane can be processed
/// in chunks whose column matrix stays in the L2 cache; `prepare` (once per image, before
/// unfolding) and `beginFold` / `endFold` (around folding an image) do the per-image work: the
/// phase split, and clearing / merging the gradient.
///
/// Three layouts (``Layout``), chosen per shape:
/// - `.shifted` — stride 1 with `Wo = W` (the "same" 3×3 pad-1 layers that dominate CNNs): the row
///   of tap `(i, j)` is the whole input plane shifted by `d = (i − ph)·W + (j − pw)` in flat index,
///   so it is one long copy (or add) plus a fix-up of the `|j − pw|` columns per output row that
///   wrapped around to the neighbouring image row;
/// - `.phases` — stride `s > 1` with `Wo = ⌈W/sw⌉` (3×3 pad 1 at stride 2), kernel above 1×1: the input
///   is first split into its `sh·sw` phase planes `P_{r,t}[y, x] = x[y·sh + r, x·sw + t]` (zero
///   past the edge), after which tap `(i, j)` reads phase `((i−ph) mod sh, (j−pw) mod sw)` at the
///   stride-1 shift `(⌊(i−ph)/sh⌋, ⌊(j−pw)/sw⌋)` — the `.shifted` copy again, with one strided
///   pass over the input instead of a strided gather per tap;
/// - `.sampled` — a 1×1 kernel without padding at a stride above 1 (ResNet's projection
///   shortcuts): each input element is read by at most one column entry, so `unfold` is a plain
///   strided gather and `fold` writes every input element exactly once (its column entry or 0),
///   with no clearing pass and no read-modify-write (see `Im2colSampled.swift`);
/// - `.rows` — anything else: per (channel, tap, output row), a contiguous run of output columns
///   whose input column is inside the image (``ConvShape/validOutputRange(tap:size:outSize:stride:pad:)``).
enum Im2col {
    enum Layout { case shifted, phases, sampled, rows }

    static func layout(_ s: ConvShape) -> Layout {
        if s.kernelH == 1 && s.kernelW == 1 && s.padH == 0 && s.padW == 0 { return .sampled }
        guard s.outWidth == s.phaseWidth else { return .rows }
        if s.strideH == 1 && s.strideW == 1 { return .shifted }
        // A single tap reads one phase once: splitting it off first would only add a copy.
        return s.kernelH * s.kernelW == 1 ? .rows : .phases
    }

    /// Scratch scalars `unfold`/`fold` need for `channels` planes (the phase planes; 0 otherwise).
    static func scratchCount(_ s: ConvShape, channels: Int) -> Int {
        layout(s) == .phases ? channels * s.strideH * s.strideW * s.phaseHeight * s.phaseWidth : 0
    }

    /// Readies `channels` planes of one image for ``unfold(_:channels:shape:rows:into:ld:scratch:)``:
    /// splits them into phase planes in `scratch` for the `.phases` layout, nothing otherwise.
    static func prepare<T: TensorScalar>(_ x: UnsafePointer<T>, channels: Int, shape s: ConvShape,
                                         scratch: UnsafeMutablePointer<T>?) {
        guard layout(s) == .phases else { return }
        precondition(scratch != nil, "Im2col.prepare: phase scratch missing for \(s)")
        splitPhases(x, channels: channels, shape: s, into: scratch!)
    }

    /// Writes output rows `rows` of the column matrix (`rows.count · Wo` columns) into rows of
    /// stride `ld` at `col`. For the `.phases` layout `prepare` must have filled `scratch`.
    static func unfold<T: TensorScalar>(_ x: UnsafePointer<T>, channels: Int, shape s: ConvShape, rows: Range<Int>,
                                        into col: UnsafeMutablePointer<T>, ld: Int, scratch: UnsafeMutablePointer<T>?) {
        let layout = layout(s)
        precondition(layout != .phases || scratch != nil, "Im2col.unfold: phase scratch missing for \(s)")
        if layout == .sampled { return unfoldSampled(x, channels: channels, shape: s, rows: rows, into: col, ld: ld) }
        var row = 0
        for c in 0..<channels {
            for i in 0..<s.kernelH {
                for j in 0..<s.kernelW {
                    let target = col + row * ld
                    switch layout {
                    case .shifted:
                        unfoldShifted(x + c * s.inPlane, Shift(s, tap: (i, j)), rows: rows, into: target)
                    case .phases:
                        let shift = Shift(s, tap: (i, j))
                        unfoldShifted(UnsafePointer(scratch! + phaseOffset(s, channel: c, shift: shift)), shift,
                                      rows: rows, into: target)
                    case .rows, .sampled:
                        unfoldRows(x + c * s.inPlane, tap: (i, j), shape: s, rows: rows, into: target)
                    }
                    row += 1
                }
            }
        }
    }

    /// Starts an adjoint over `channels` planes at `x`: clears the accumulator (the planes, or the
    /// phase scratch for the `.phases` layout).
    static func beginFold<T: TensorScalar>(_ x: UnsafeMutablePointer<T>, channels: Int, shape s: ConvShape,
                                           scratch: UnsafeMutablePointer<T>?) {
        switch layout(s) {
        case .sampled:
            return  // `fold` writes every element once
        case .phases:
            precondition(scratch != nil, "Im2col.beginFold: phase scratch missing for \(s)")
            scratch!.update(repeating: 0, count: scratchCount(s, channels: channels))
        case .shifted, .rows:
            x.update(repeating: 0, count: channels * s.inPlane)
        }
    }

    /// Adds the adjoint of output rows `rows` of a column matrix (rows of stride `ld`). `col` is
    /// scratch too: entries that read padding may be overwritten with zeros. (The `.sampled`
    /// layout writes the input rows of `rows` outright instead, and its `beginFold` clears nothing.)
    static func fold<T: TensorScalar>(_ col: UnsafeMutablePointer<T>, ld: Int, channels: Int, shape s: ConvShape,
                                      rows: Range<Int>, into x: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>?) {
        let layout = layout(s)
        precondition(layout != .phases || scratch != nil, "Im2col.fold: phase scratch missing for \(s)")
        if layout == .sampled { return foldSampled(col, ld: ld, channels: channels, shape: s, rows: rows, into: x) }
        var row = 0
        for c in 0..<channels {
            for i in 0..<s.kernelH {
                for j in 0..<s.kernelW {
                    let source = col + row * ld
                    switch layout {
                    case .shifted:
                        foldShifted(source, Shift(s, tap: (i, j)), rows: rows, into: x + c * s.inPlane)
                    case .phases:
                        let shift = Shift(s, tap: (i, j))
                        foldShifted(source, shift, rows: rows, into: scratch! + phaseOffset(s, channel: c, shift: shift))
                    case .rows, .sampled:
                        foldRows(source, tap: (i, j), shape: s, rows: rows, into: x + c * s.inPlane)
                    }
                    row += 1
                }
            }
        }
    }

    /// Finishes an adjoint: for the `.phases` layout writes the phase planes back into `x`.
    static func endFold<T: TensorScalar>(_ x: UnsafeMutablePointer<T>, channels: Int, shape s: ConvShape,
                                         scratch: UnsafeMutablePointer<T>?) {
        if layout(s) == .phases, let scratch { mergePhases(scratch, channels: channels, shape: s, into: x) }
    }

    // MARK: Shifted copies

    /// A tap as a stride-1 shift of a source plane of `rows × width` (row stride `width`, zero
    /// outside): output flat index `q = oh·width + ow` reads source flat index `q + offset` when
    /// `0 ≤ oh + dh < rows` and `0 ≤ ow + dw < width`. The output width equals `width`.
    struct Shift {
        var rows: Int, width: Int
        var dh: Int, dw: Int
        /// Phase plane of the tap (always (0, 0) at stride 1).
        var phaseRow: Int, phaseColumn: Int

        init(_ s: ConvShape, tap: (Int, Int)) {
            let (a, b) = (tap.0 - s.padH, tap.1 - s.padW)
            dh = floorDivision(a, s.strideH); dw = floorDivision(b, s.strideW)
            phaseRow = a - dh * s.strideH; phaseColumn = b - dw * s.strideW
            rows = s.phaseHeight; width = s.phaseWidth  // the input plane itself at stride 1
        }

        /// For output rows `chunk`: the flat output span `[first, last)` whose source row is inside,
        /// clipped so `q + offset` stays inside the source plane, and the output rows it covers.
        func span(_ chunk: Range<Int>) -> (rowRange: Range<Int>, first: Int, last: Int) {
            let low = Swift.min(Swift.max(-dh, chunk.lowerBound), chunk.upperBound)
            let high = Swift.max(low, Swift.min(chunk.upperBound, rows - dh))
            let first = Swift.min(low * width + Swift.max(0, -dw), chunk.upperBound * width)
            let last = Swift.max(first, high * width - Swift.max(0, dw))
            return (low..<high, first, last)
        }

        var offset: Int { dh * width + dw }
    }

    /// Zeroes, in output rows `rowRange` (chunk-relative pointer `row`, first row `base`), the
    /// columns that wrapped around to the neighbouring source row (`ow < −dw`, or `ow ≥ width − dw`).
    /// Plain loops: the count is the padding (1 for 3×3), far too short for a memset call.
    @inline(__always)
    private static func zeroWrapped<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, _ shift: Shift,
                                                     rows rowRange: Range<Int>, base: Int) {
        let width = shift.width
        if shift.dw < 0 {
            let n = Swift.min(-shift.dw, width)
            for oh in rowRange { for k in 0..<n { row[(oh - base) * width + k] = 0 } }
        } else if shift.dw > 0 {
            let n = Swift.min(shift.dw, width)
            for oh in rowRange { for k in (width - n)..<width { row[(oh - base) * width + k] = 0 } }
        }
    }

    /// Output rows `rows` of one tap's column row; `row` points at the chunk's first column.
    private static func unfoldShifted<T: TensorScalar>(_ plane: UnsafePointer<T>, _ shift: Shift, rows: Range<Int>,
                                                       into row: UnsafeMutablePointer<T>) {
        let span = shift.span(rows)
        let start = rows.lowerBound * shift.width, end = rows.upperBound * shift.width
        row.update(repeating: 0, count: span.first - start)
        if span.last > span.first {
            (row + (span.first - start)).update(from: plane + (span.first + shift.offset), count: span.last - span.first)
        }
        (row + (span.last - start)).update(repeating: 0, count: end - span.last)
        zeroWrapped(row, shift, rows: span.rowRange, base: rows.lowerBound)
    }

    private static func foldShifted<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, _ shift: Shift, rows: Range<Int>,
                                                     into plane: UnsafeMutablePointer<T>) {
        let span = shift.span(rows)
        zeroWrapped(row, shift, rows: span.rowRange, base: rows.lowerBound)
        guard span.last > span.first else { return }
        let source = row + (span.first - rows.lowerBound * shift.width), target = plane + (span.first + shift.offset)
        for q in 0..<(span.last - span.first) { target[q] += source[q] }
    }

    // MARK: Row runs

    private static func unfoldRows<T: TensorScalar>(_ plane: UnsafePointer<T>, tap: (Int, Int), shape s: ConvShape,
                                                    rows: Range<Int>, into row: UnsafeMutablePointer<T>) {
        let (i, j) = tap
        let (height, width, outWidth, sw) = (s.height, s.width, s.outWidth, s.strideW)
        let valid = ConvShape.validOutputRange(tap: j, size: width, outSize: outWidth, stride: sw, pad: s.padW)
        for oh in rows {
            // Plain loops rather than memset/memmove: the runs are short (an output row, often
            // under 32 scalars) and the calls cost more than the copies.
            let dst = row + (oh - rows.lowerBound) * outWidth
            let ih = oh * s.strideH - s.padH + i
            if ih < 0 || ih >= height || valid.isEmpty {
                for ow in 0..<outWidth { dst[ow] = 0 }
                continue
            }
            for ow in 0..<valid.lowerBound { dst[ow] = 0 }
            for ow in valid.upperBound..<outWidth { dst[ow] = 0 }
            // Input index of output column ow: ih·W + ow·sw − pw + j (never negative for ow in `valid`).
            let base = ih * width - s.padW + j
            if sw == 1 {
                let src = plane + base
                for ow in valid { dst[ow] = src[ow] }
            } else {
                StridedCopy.gather(plane + base + valid.lowerBound * sw, stride: sw, count: valid.count,
                                   into: dst + valid.lowerBound)
            }
        }
    }

    private static func foldRows<T: TensorScalar>(_ row: UnsafePointer<T>, tap: (Int, Int), shape s: ConvShape,
                                                  rows: Range<Int>, into plane: UnsafeMutablePointer<T>) {
        let (i, j) = tap
        let (height, width, outWidth, sw) = (s.height, s.width, s.outWidth, s.strideW)
        let valid = ConvShape.validOutputRange(tap: j, size: width, outSize: outWidth, stride: sw, pad: s.padW)
        for oh in rows {
            let ih = oh * s.strideH - s.padH + i
            if ih < 0 || ih >= height { continue }
            let src = row + (oh - rows.lowerBound) * outWidth
            let base = ih * width - s.padW + j
            if sw == 1 {
                for ow in valid { plane[base + ow] += src[ow] }
            } else {
                for ow in valid { plane[base + ow * sw] += src[ow] }
            }
        }
    }
}

