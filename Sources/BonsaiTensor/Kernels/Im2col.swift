/// im2col and its adjoint col2im: the data movement that turns a convolution into a GEMM.
///
/// `unfold` writes, for `channels` input planes of one image, the matrix
///
///     col[(c·kh + i)·kw + j, oh·Wo + ow] = x[c, oh·sh − ph + i, ow·sw − pw + j]   (0 outside the image)
///
/// into rows of stride `ld` (so several images can sit side by side in one wider matrix and share
/// one GEMM). `fold` is the exact adjoint, `x[c, ih, iw] = Σ col[…]` over every entry that read
/// `(c, ih, iw)` (it writes every element of the `channels` planes).
///
/// Three layouts (``Layout``), chosen per shape:
/// - `.shifted` — stride 1 with `Wo = W` (the "same" 3×3 pad-1 layers that dominate CNNs): the row
///   of tap `(i, j)` is the whole input plane shifted by `d = (i − ph)·W + (j − pw)` in flat index,
///   so it is one long copy (or add) plus a fix-up of the `|j − pw|` columns per output row that
///   wrapped around to the neighbouring image row;
/// - `.phases` — stride `s > 1` with `Wo = ⌈W/sw⌉` (3×3 pad 1 and 1×1 pad 0 at stride 2): the input
///   is first split into its `sh·sw` phase planes `P_{r,t}[y, x] = x[y·sh + r, x·sw + t]` (zero
///   past the edge), after which tap `(i, j)` reads phase `((i−ph) mod sh, (j−pw) mod sw)` at the
///   stride-1 shift `(⌊(i−ph)/sh⌋, ⌊(j−pw)/sw⌋)` — the `.shifted` copy again, with one strided
///   pass over the input instead of a strided gather per tap;
/// - `.rows` — anything else: per (channel, tap, output row), a contiguous run of output columns
///   whose input column is inside the image (``ConvShape/validOutputRange(tap:size:outSize:stride:pad:)``).
enum Im2col {
    enum Layout { case shifted, phases, rows }

    static func layout(_ s: ConvShape) -> Layout {
        guard s.outWidth == s.phaseWidth else { return .rows }
        return s.strideH == 1 && s.strideW == 1 ? .shifted : .phases
    }

    /// Scratch scalars `unfold`/`fold` need for `channels` planes (the phase planes; 0 otherwise).
    static func scratchCount(_ s: ConvShape, channels: Int) -> Int {
        layout(s) == .phases ? channels * s.strideH * s.strideW * s.phaseHeight * s.phaseWidth : 0
    }

    static func unfold<T: TensorScalar>(_ x: UnsafePointer<T>, channels: Int, shape s: ConvShape,
                                        into col: UnsafeMutablePointer<T>, ld: Int, scratch: UnsafeMutablePointer<T>?) {
        let layout = layout(s)
        precondition(layout != .phases || scratch != nil, "Im2col.unfold: phase scratch missing for \(s)")
        if layout == .phases, let scratch { splitPhases(x, channels: channels, shape: s, into: scratch) }
        var row = 0
        for c in 0..<channels {
            for i in 0..<s.kernelH {
                for j in 0..<s.kernelW {
                    let target = col + row * ld
                    switch layout {
                    case .shifted:
                        unfoldShifted(x + c * s.inPlane, Shift(s, tap: (i, j)), into: target)
                    case .phases:
                        let shift = Shift(s, tap: (i, j))
                        unfoldShifted(UnsafePointer(scratch! + phaseOffset(s, channel: c, shift: shift)), shift, into: target)
                    case .rows:
                        unfoldRows(x + c * s.inPlane, tap: (i, j), shape: s, into: target)
                    }
                    row += 1
                }
            }
        }
    }

    /// Adjoint of ``unfold(_:channels:shape:into:ld:scratch:)``, overwriting the `channels` planes at
    /// `x`. `col` is scratch too: entries that read padding may be overwritten with zeros.
    static func fold<T: TensorScalar>(_ col: UnsafeMutablePointer<T>, ld: Int, channels: Int, shape s: ConvShape,
                                      into x: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>?) {
        let layout = layout(s)
        precondition(layout != .phases || scratch != nil, "Im2col.fold: phase scratch missing for \(s)")
        if layout == .phases, let scratch {
            scratch.update(repeating: 0, count: scratchCount(s, channels: channels))
        } else {
            x.update(repeating: 0, count: channels * s.inPlane)
        }
        var row = 0
        for c in 0..<channels {
            for i in 0..<s.kernelH {
                for j in 0..<s.kernelW {
                    let source = col + row * ld
                    switch layout {
                    case .shifted:
                        foldShifted(source, Shift(s, tap: (i, j)), into: x + c * s.inPlane)
                    case .phases:
                        let shift = Shift(s, tap: (i, j))
                        foldShifted(source, shift, into: scratch! + phaseOffset(s, channel: c, shift: shift))
                    case .rows:
                        foldRows(source, tap: (i, j), shape: s, into: x + c * s.inPlane)
                    }
                    row += 1
                }
            }
        }
        if layout == .phases, let scratch { mergePhases(scratch, channels: channels, shape: s, into: x) }
    }

    // MARK: Shifted copies

    /// A tap as a stride-1 shift of a source plane of `rows × width` (row stride `width`, zero
    /// outside): output flat index `q = oh·width + ow` reads source flat index `q + offset` when
    /// `0 ≤ oh + dh < rows` and `0 ≤ ow + dw < width`. The output is `outHeight × width`.
    struct Shift {
        var rows: Int, width: Int, outHeight: Int
        var dh: Int, dw: Int
        /// Phase plane of the tap (`.phases` layout only).
        var phaseRow = 0, phaseColumn = 0

        init(_ s: ConvShape, tap: (Int, Int)) {
            let (a, b) = (tap.0 - s.padH, tap.1 - s.padW)
            dh = floorDivision(a, s.strideH); dw = floorDivision(b, s.strideW)
            phaseRow = a - dh * s.strideH; phaseColumn = b - dw * s.strideW
            outHeight = s.outHeight
            rows = s.phaseHeight; width = s.phaseWidth  // the input plane itself at stride 1
        }

        /// Flat output span `[first, last)` whose source row is inside, clipped so `q + offset`
        /// stays inside the plane, and the output rows it covers.
        var span: (rowRange: Range<Int>, first: Int, last: Int) {
            let low = Swift.min(Swift.max(0, -dh), outHeight)
            let high = Swift.max(low, Swift.min(outHeight, rows - dh))
            let total = outHeight * width
            let first = Swift.min(low * width + Swift.max(0, -dw), total)
            let last = Swift.max(first, high * width - Swift.max(0, dw))
            return (low..<high, first, last)
        }

        var offset: Int { dh * width + dw }
    }

    /// Zeroes, in output rows `rows` of `row`, the columns that wrapped around to the neighbouring
    /// source row (`ow < −dw`, or `ow ≥ width − dw`). Plain loops: the count is the padding (1 for
    /// 3×3), far too short for a memset call.
    @inline(__always)
    private static func zeroWrapped<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, _ shift: Shift, rows: Range<Int>) {
        let width = shift.width
        if shift.dw < 0 {
            let n = Swift.min(-shift.dw, width)
            for oh in rows { for k in 0..<n { row[oh * width + k] = 0 } }
        } else if shift.dw > 0 {
            let n = Swift.min(shift.dw, width)
            for oh in rows { for k in (width - n)..<width { row[oh * width + k] = 0 } }
        }
    }

    private static func unfoldShifted<T: TensorScalar>(_ plane: UnsafePointer<T>, _ shift: Shift,
                                                       into row: UnsafeMutablePointer<T>) {
        let span = shift.span
        row.update(repeating: 0, count: span.first)
        if span.last > span.first {
            (row + span.first).update(from: plane + (span.first + shift.offset), count: span.last - span.first)
        }
        (row + span.last).update(repeating: 0, count: shift.outHeight * shift.width - span.last)
        zeroWrapped(row, shift, rows: span.rowRange)
    }

    private static func foldShifted<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, _ shift: Shift,
                                                     into plane: UnsafeMutablePointer<T>) {
        let span = shift.span
        zeroWrapped(row, shift, rows: span.rowRange)
        guard span.last > span.first else { return }
        let source = row + span.first, target = plane + (span.first + shift.offset)
        for q in 0..<(span.last - span.first) { target[q] += source[q] }
    }

    // MARK: Phase planes

    /// Offset in the phase scratch of the phase plane a tap reads for channel `c`.
    @inline(__always)
    private static func phaseOffset(_ s: ConvShape, channel c: Int, shift: Shift) -> Int {
        ((c * s.strideH + shift.phaseRow) * s.strideW + shift.phaseColumn) * s.phaseHeight * s.phaseWidth
    }

    /// `scratch[c, r, t, y, x] = x[c, y·sh + r, x·sw + t]`, 0 past the image's edge.
    private static func splitPhases<T: TensorScalar>(_ x: UnsafePointer<T>, channels: Int, shape s: ConvShape,
                                                     into scratch: UnsafeMutablePointer<T>) {
        let (ph, pw) = (s.phaseHeight, s.phaseWidth)
        var target = scratch
        for c in 0..<channels {
            let plane = x + c * s.inPlane
            for r in 0..<s.strideH {
                for t in 0..<s.strideW {
                    defer { target += ph * pw }
                    // A phase no tap reads (1×1 at stride 2 reads only phase (0, 0)) is left unset.
                    guard isRead(phase: r, kernel: s.kernelH, pad: s.padH, stride: s.strideH),
                          isRead(phase: t, kernel: s.kernelW, pad: s.padW, stride: s.strideW) else { continue }
                    let columns = t < s.width ? (s.width - t + s.strideW - 1) / s.strideW : 0
                    for y in 0..<ph {
                        let ih = y * s.strideH + r
                        let dst = target + y * pw
                        if ih >= s.height {
                            dst.update(repeating: 0, count: pw)
                            continue
                        }
                        let src = plane + ih * s.width + t
                        for x in 0..<columns { dst[x] = src[x * s.strideW] }
                        for x in columns..<pw { dst[x] = 0 }
                    }
                }
            }
        }
    }

    /// Whether some tap `i` of `kernel` reads phase `phase`: `(i − pad) mod stride = phase`.
    @inline(__always)
    private static func isRead(phase: Int, kernel: Int, pad: Int, stride: Int) -> Bool {
        (0..<kernel).contains { i in (i - pad) - floorDivision(i - pad, stride) * stride == phase }
    }

    /// The adjoint of ``splitPhases(_:channels:shape:into:)`` (each input element lies in exactly one
    /// phase plane, so this overwrites `x`).
    private static func mergePhases<T: TensorScalar>(_ scratch: UnsafePointer<T>, channels: Int, shape s: ConvShape,
                                                     into x: UnsafeMutablePointer<T>) {
        let (ph, pw) = (s.phaseHeight, s.phaseWidth)
        var source = scratch
        for c in 0..<channels {
            let plane = x + c * s.inPlane
            for r in 0..<s.strideH {
                for t in 0..<s.strideW {
                    let columns = t < s.width ? (s.width - t + s.strideW - 1) / s.strideW : 0
                    for y in 0..<ph {
                        let ih = y * s.strideH + r
                        if ih >= s.height { break }
                        let src = source + y * pw, dst = plane + ih * s.width + t
                        for x in 0..<columns { dst[x * s.strideW] = src[x] }
                    }
                    source += ph * pw
                }
            }
        }
    }

    // MARK: Row runs

    private static func unfoldRows<T: TensorScalar>(_ plane: UnsafePointer<T>, tap: (Int, Int), shape s: ConvShape,
                                                    into row: UnsafeMutablePointer<T>) {
        let (i, j) = tap
        let (height, width, outWidth, sw) = (s.height, s.width, s.outWidth, s.strideW)
        let valid = ConvShape.validOutputRange(tap: j, size: width, outSize: outWidth, stride: sw, pad: s.padW)
        for oh in 0..<s.outHeight {
            let dst = row + oh * outWidth
            let ih = oh * s.strideH - s.padH + i
            if ih < 0 || ih >= height || valid.isEmpty {
                dst.update(repeating: 0, count: outWidth)
                continue
            }
            dst.update(repeating: 0, count: valid.lowerBound)
            (dst + valid.upperBound).update(repeating: 0, count: outWidth - valid.upperBound)
            // Input index of output column ow: ih·W + ow·sw − pw + j (never negative for ow in `valid`).
            let base = ih * width - s.padW + j
            if sw == 1 {
                (dst + valid.lowerBound).update(from: plane + (base + valid.lowerBound), count: valid.count)
            } else {
                for ow in valid { dst[ow] = plane[base + ow * sw] }
            }
        }
    }

    private static func foldRows<T: TensorScalar>(_ row: UnsafePointer<T>, tap: (Int, Int), shape s: ConvShape,
                                                  into plane: UnsafeMutablePointer<T>) {
        let (i, j) = tap
        let (height, width, outWidth, sw) = (s.height, s.width, s.outWidth, s.strideW)
        let valid = ConvShape.validOutputRange(tap: j, size: width, outSize: outWidth, stride: sw, pad: s.padW)
        for oh in 0..<s.outHeight {
            let ih = oh * s.strideH - s.padH + i
            if ih < 0 || ih >= height { continue }
            let src = row + oh * outWidth
            let base = ih * width - s.padW + j
            if sw == 1 {
                for ow in valid { plane[base + ow] += src[ow] }
            } else {
                for ow in valid { plane[base + ow * sw] += src[ow] }
            }
        }
    }
}

/// `⌊a / n⌋` for `n > 0` and any sign of `a`.
@inline(__always)
func floorDivision(_ a: Int, _ n: Int) -> Int {
    a >= 0 ? a / n : -((-a + n - 1) / n)
}
