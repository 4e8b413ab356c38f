/// The fast convolution path: im2col + GEMM, forward and backward, over raw buffers.
///
/// Per group `g` (see ``ConvShape``), with `col` the unfolded input and `dY` the output gradient:
///
///     forward        Y_g  = W_g · col_g                    [O/g × P] = [O/g × K] · [K × P]
///     input grad     dcol = W_gᵀ · dY_g, then dX = fold(dcol)     (col2im, the adjoint of im2col)
///     weight grad    dW_gᵀ = Σ_images col_g · dY_gᵀ       [K × O/g] = [K × P] · [P × O/g]
///
/// Threads: the batch is split into one contiguous image range per worker of the thread budget
/// (`Parallel`); each worker owns its column buffer and calls single-threaded GEMMs (a GEMM inside a
/// parallel region runs serially), so there is no synchronisation until the weight-gradient partial
/// sums of the workers are added at the end. With fewer images than threads the work runs on one
/// worker and the GEMMs themselves split across the budget.
///
/// Small planes (8×8 has 64 output pixels) make thin GEMMs that run far below BLAS's peak and pay
/// packing of `W` per image. So images are processed in tiles: the columns of `nb` images sit side
/// by side in one `[K × nb·P]` matrix and one GEMM covers the tile; the output (or the gathered
/// output gradient) is copied between the tile layout `[O/g × nb·P]` and NCHW, which costs `1/K` of
/// the GEMM. 1×1 stride-1 unpadded convolutions need no unfolding: the input planes `[C/g × P]`
/// already are the column matrix.
import Foundation
nonisolated(unsafe) public var devVariant = 0
nonisolated(unsafe) public var devTile = 512
enum ConvGemm {
    /// A tile aims for at least this many GEMM columns (images × output pixels).
    static var tileColumns: Int { devTile }

    /// Images per tile for a worker that owns `images` images.
    static func imagesPerTile(_ s: ConvShape, images: Int) -> Int {
        if s.isPointwise || s.outPlane >= tileColumns { return 1 }
        return Swift.max(1, Swift.min(images, (tileColumns + s.outPlane - 1) / s.outPlane))
    }

    /// The image range of worker `worker` of `workers`.
    @inline(__always)
    static func images(of worker: Int, workers: Int, batch: Int) -> Range<Int> {
        (batch * worker / workers)..<(batch * (worker + 1) / workers)
    }

    // MARK: Forward

    /// `out = conv(x, weight) + bias` for the whole batch (`out` is fully written).
    static func forward<T: TensorScalar>(x: UnsafePointer<T>, weight: UnsafePointer<T>, bias: UnsafePointer<T>?,
                                         out: UnsafeMutablePointer<T>, shape s: ConvShape) {
        let workers = Parallel.workerCount(s.batch)
        Parallel.forRanges(workers) { range in
            for worker in range {
                forward(images: images(of: worker, workers: workers, batch: s.batch),
                        x: x, weight: weight, bias: bias, out: out, shape: s)
            }
        }
    }

    private static func forward<T: TensorScalar>(images: Range<Int>, x: UnsafePointer<T>, weight: UnsafePointer<T>,
                                                 bias: UnsafePointer<T>?, out: UnsafeMutablePointer<T>, shape s: ConvShape) {
        guard !images.isEmpty else { return }
        let (plane, k, outPer, inPer) = (s.outPlane, s.colRows, s.outPerGroup, s.inPerGroup)
        if s.isPointwise {
            for n in images {
                for g in 0..<s.groups {
                    let y = out + n * s.outImage + g * outPer * plane
                    if let bias { fillRows(y, rows: outPer, length: plane, values: bias + g * outPer) }
                    Gemm.multiply(Gemm.Operands(m: outPer, n: plane, k: inPer, beta: bias == nil ? 0 : 1,
                                                a: weight + g * outPer * k, lda: k,
                                                b: x + n * s.inImage + g * inPer * s.inPlane, ldb: plane,
                                                c: y, ldc: plane))
                }
            }
            return
        }
        let tile = imagesPerTile(s, images: images.count)
        let col = UnsafeMutablePointer<T>.allocate(capacity: k * tile * plane)
        let staging = tile > 1 ? UnsafeMutablePointer<T>.allocate(capacity: outPer * tile * plane) : nil
        let scratchCount = Im2col.scratchCount(s, channels: inPer)
        let scratch = scratchCount > 0 ? UnsafeMutablePointer<T>.allocate(capacity: scratchCount) : nil
        defer { col.deallocate(); staging?.deallocate(); scratch?.deallocate() }
        var first = images.lowerBound
        while first < images.upperBound {
            let nb = Swift.min(tile, images.upperBound - first)
            let columns = nb * plane
            for g in 0..<s.groups {
                for b in 0..<nb {
                    Im2col.unfold(x + (first + b) * s.inImage + g * inPer * s.inPlane, channels: inPer, shape: s,
                                  into: col + b * plane, ld: columns, scratch: scratch)
                }
                let groupBias = bias.map { $0 + g * outPer }
                if nb == 1 {
                    let y = out + first * s.outImage + g * outPer * plane
                    if let groupBias { fillRows(y, rows: outPer, length: plane, values: groupBias) }
                    Gemm.multiply(Gemm.Operands(m: outPer, n: plane, k: k, beta: bias == nil ? 0 : 1,
                                                a: weight + g * outPer * k, lda: k, b: col, ldb: plane,
                                                c: y, ldc: plane))
                } else if let staging {
                    Gemm.multiply(Gemm.Operands(m: outPer, n: columns, k: k, a: weight + g * outPer * k, lda: k,
                                                b: col, ldb: columns, c: staging, ldc: columns))
                    for b in 0..<nb {
                        for o in 0..<outPer {
                            let src = staging + o * columns + b * plane
                            let dst = out + (first + b) * s.outImage + (g * outPer + o) * plane
                            let shift = groupBias?[o] ?? 0
                            for p in 0..<plane { dst[p] = src[p] + shift }
                        }
                    }
                }
            }
            first += nb
        }
    }

    /// Sets each of `rows` rows of `length` scalars to its own value (the bias before a `beta = 1` GEMM).
    @inline(__always)
    private static func fillRows<T: TensorScalar>(_ y: UnsafeMutablePointer<T>, rows: Int, length: Int,
                                                  values: UnsafePointer<T>) {
        for r in 0..<rows { (y + r * length).update(repeating: values[r], count: length) }
    }

    // MARK: Backward

    /// Input gradient (into `gradInput`, fully written) and/or weight gradient (into `gradWeight`,
    /// fully written) of the convolution. `x` is needed for the weight gradient, `weight` for the
    /// input gradient; a nil destination skips that product.
    static func backward<T: TensorScalar>(x: UnsafePointer<T>?, weight: UnsafePointer<T>?, grad: UnsafePointer<T>,
                                          gradInput: UnsafeMutablePointer<T>?, gradWeight: UnsafeMutablePointer<T>?,
                                          shape s: ConvShape) {
        precondition((gradWeight == nil || x != nil) && (gradInput == nil || weight != nil),
                     "conv2d backward: missing operand for the requested gradient")
        var gradInput = gradInput
        if let dx = gradInput, let weight, let transposed = transposedShape(s) {
            let flipped = UnsafeMutablePointer<T>.allocate(capacity: s.outChannels * s.colRows)
            defer { flipped.deallocate() }
            flipTransposed(weight, shape: s, into: flipped)
            forward(x: grad, weight: flipped, bias: nil, out: dx, shape: transposed)
            gradInput = nil
        }
        guard gradInput != nil || gradWeight != nil else { return }
        let weightCount = s.outChannels * s.colRows
        let workers = Parallel.workerCount(s.batch)
        // Every worker accumulates dWᵀ (per group `[K × O/g]`) in a private buffer; the buffers are
        // summed and transposed into gradWeight at the end.
        var partials: [UnsafeMutablePointer<T>] = []
        if gradWeight != nil {
            for _ in 0..<workers {
                let partial = UnsafeMutablePointer<T>.allocate(capacity: weightCount)
                partial.initialize(repeating: 0, count: weightCount)
                partials.append(partial)
            }
        }
        defer { for partial in partials { partial.deallocate() } }
        let sums = partials
        Parallel.forRanges(workers) { range in
            for worker in range {
                backward(images: images(of: worker, workers: workers, batch: s.batch), x: x, weight: weight,
                         grad: grad, gradInput: gradInput, gradWeightTransposed: sums.isEmpty ? nil : sums[worker],
                         shape: s)
            }
        }
        if let gradWeight {
            let (k, outPer) = (s.colRows, s.outPerGroup)
            for (index, partial) in partials.enumerated() {
                for g in 0..<s.groups {
                    for o in 0..<outPer {
                        let target = gradWeight + (g * outPer + o) * k, source = partial + g * k * outPer + o
                        if index == 0 {
                            for i in 0..<k { target[i] = source[i * outPer] }
                        } else {
                            for i in 0..<k { target[i] += source[i * outPer] }
                        }
                    }
                }
            }
        }
    }

    /// For stride 1 the input gradient is itself a stride-1 convolution,
    ///
    ///     dX[c, ih, iw] = Σ_{o, i, j} W[o, c, kh−1−i, kw−1−j] · dY[o, ih − (kh−1−ph) + i, iw − (kw−1−pw) + j],
    ///
    /// of dY (O channels) with the flipped kernel transposed to `[C, O/groups, kh, kw]` and padding
    /// `k − 1 − p`. Run through ``forward(x:weight:bias:out:shape:)`` its GEMM has inner dimension
    /// `(O/groups)·kh·kw` and writes dX once, where `Wᵀ·dY` + col2im has inner dimension `O/groups`
    /// (16 for a ResNet-20 stage) and a read-modify-write fold. Nil when the shortcut does not apply
    /// (strides above 1, 1×1 kernels, padding beyond `k − 1`).
    static func transposedShape(_ s: ConvShape) -> ConvShape? {
        guard devVariant == 0, s.strideH == 1, s.strideW == 1, !s.isPointwise, s.padH < s.kernelH, s.padW < s.kernelW else { return nil }
        let geometry = Conv2dGeometry(strideH: 1, strideW: 1, padH: s.kernelH - 1 - s.padH, padW: s.kernelW - 1 - s.padW,
                                      groups: s.groups)
        let t = ConvShape(input: s.outputShape, weight: [s.inChannels, s.outPerGroup, s.kernelH, s.kernelW],
                          geometry: geometry, op: "conv2d backward (transposed)")
        precondition(t.outputShape == s.inputShape, "conv2d backward: transposed shape \(t) does not give \(s.inputShape)")
        return t
    }

    /// `flipped[g·C/g + c, o, i, j] = W[g·O/g + o, c, kh−1−i, kw−1−j]` (see ``transposedShape(_:)``).
    private static func flipTransposed<T: TensorScalar>(_ w: UnsafePointer<T>, shape s: ConvShape,
                                                        into flipped: UnsafeMutablePointer<T>) {
        let (kh, kw, inPer, outPer) = (s.kernelH, s.kernelW, s.inPerGroup, s.outPerGroup)
        for g in 0..<s.groups {
            for o in 0..<outPer {
                for c in 0..<inPer {
                    let source = w + (((g * outPer + o) * inPer + c) * kh) * kw
                    let target = flipped + (((g * inPer + c) * outPer + o) * kh) * kw
                    for i in 0..<kh {
                        for j in 0..<kw { target[i * kw + j] = source[(kh - 1 - i) * kw + (kw - 1 - j)] }
                    }
                }
            }
        }
    }

    private static func backward<T: TensorScalar>(images: Range<Int>, x: UnsafePointer<T>?, weight: UnsafePointer<T>?,
                                                  grad: UnsafePointer<T>, gradInput: UnsafeMutablePointer<T>?,
                                                  gradWeightTransposed: UnsafeMutablePointer<T>?, shape s: ConvShape) {
        guard !images.isEmpty else { return }
        let (plane, k, outPer, inPer) = (s.outPlane, s.colRows, s.outPerGroup, s.inPerGroup)
        if s.isPointwise {
            for n in images {
                for g in 0..<s.groups {
                    let dy = grad + n * s.outImage + g * outPer * plane
                    let offset = n * s.inImage + g * inPer * s.inPlane
                    if let gradWeightTransposed, let x {
                        Gemm.multiply(Gemm.Operands(transB: true, m: inPer, n: outPer, k: plane, beta: 1,
                                                    a: x + offset, lda: plane, b: dy, ldb: plane,
                                                    c: gradWeightTransposed + g * outPer * k, ldc: outPer))
                    }
                    if let gradInput, let weight {
                        Gemm.multiply(Gemm.Operands(transA: true, m: inPer, n: plane, k: outPer,
                                                    a: weight + g * outPer * k, lda: k, b: dy, ldb: plane,
                                                    c: gradInput + offset, ldc: plane))
                    }
                }
            }
            return
        }
        let tile = imagesPerTile(s, images: images.count)
        let col = UnsafeMutablePointer<T>.allocate(capacity: k * tile * plane)
        let staging = tile > 1 ? UnsafeMutablePointer<T>.allocate(capacity: outPer * tile * plane) : nil
        let scratchCount = Im2col.scratchCount(s, channels: inPer)
        let scratch = scratchCount > 0 ? UnsafeMutablePointer<T>.allocate(capacity: scratchCount) : nil
        defer { col.deallocate(); staging?.deallocate(); scratch?.deallocate() }
        var first = images.lowerBound
        while first < images.upperBound {
            let nb = Swift.min(tile, images.upperBound - first)
            let columns = nb * plane
            for g in 0..<s.groups {
                // dY of this group and tile as a [O/g × nb·P] matrix: in place for one image, gathered otherwise.
                var dy = UnsafePointer(grad + first * s.outImage + g * outPer * plane)
                if nb > 1, let staging {
                    for o in 0..<outPer {
                        for b in 0..<nb {
                            (staging + o * columns + b * plane)
                                .update(from: grad + (first + b) * s.outImage + (g * outPer + o) * plane, count: plane)
                        }
                    }
                    dy = UnsafePointer(staging)
                }
                if let gradWeightTransposed, let x {
                    for b in 0..<nb {
                        Im2col.unfold(x + (first + b) * s.inImage + g * inPer * s.inPlane, channels: inPer, shape: s,
                                      into: col + b * plane, ld: columns, scratch: scratch)
                    }
                    // dW_gᵀ[K × O/g] += col · dYᵀ: with the long K side as GEMM rows this runs markedly
                    // faster in OpenBLAS than dY · colᵀ when O/g is small (16 or 32).
                    Gemm.multiply(Gemm.Operands(transB: true, m: k, n: outPer, k: columns, beta: 1,
                                                a: col, lda: columns, b: dy, ldb: columns,
                                                c: gradWeightTransposed + g * outPer * k, ldc: outPer))
                }
                if let gradInput, let weight {
                    // The column buffer is free again: it receives dcol.
                    Gemm.multiply(Gemm.Operands(transA: true, m: k, n: columns, k: outPer,
                                                a: weight + g * outPer * k, lda: k, b: dy, ldb: columns,
                                                c: col, ldc: columns))
                    for b in 0..<nb {
                        Im2col.fold(col + b * plane, ld: columns, channels: inPer, shape: s,
                                    into: gradInput + (first + b) * s.inImage + g * inPer * s.inPlane, scratch: scratch)
                    }
                }
            }
            first += nb
        }
    }
}
