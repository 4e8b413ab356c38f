/// The fast convolution path: im2col + GEMM, forward and backward, over raw buffers.
///
/// Per group `g` (see ``ConvShape``), with `col` the unfolded input and `dY` the output gradient:
///
///     forward        Y_g  = W_g · col_g                    [O/g × P] = [O/g × K] · [K × P]
///     input grad     dcol = W_gᵀ · dY_g, then dX = fold(dcol)     (col2im, the adjoint of im2col)
///     weight grad    dW_g = Σ_images dY_g · col_gᵀ         [O/g × K] = [O/g × P] · [P × K]
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
enum ConvGemm {
    /// A tile aims for at least this many GEMM columns (images × output pixels).
    nonisolated(unsafe) static var tileColumns = 512

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
        defer { col.deallocate(); staging?.deallocate() }
        var first = images.lowerBound
        while first < images.upperBound {
            let nb = Swift.min(tile, images.upperBound - first)
            let columns = nb * plane
            for g in 0..<s.groups {
                for b in 0..<nb {
                    Im2col.unfold(x + (first + b) * s.inImage + g * inPer * s.inPlane, channels: inPer, shape: s,
                                  into: col + b * plane, ld: columns)
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
        let weightCount = s.outChannels * s.colRows
        let workers = Parallel.workerCount(s.batch)
        // Worker 0 accumulates into gradWeight itself, the others into private partial sums.
        var partials: [UnsafeMutablePointer<T>] = []
        if let gradWeight {
            gradWeight.update(repeating: 0, count: weightCount)
            for _ in 1..<Swift.max(workers, 1) {
                let partial = UnsafeMutablePointer<T>.allocate(capacity: weightCount)
                partial.initialize(repeating: 0, count: weightCount)
                partials.append(partial)
            }
        }
        defer { for partial in partials { partial.deallocate() } }
        let sums = partials
        Parallel.forRanges(workers) { range in
            for worker in range {
                let dW = gradWeight.map { worker == 0 ? $0 : sums[worker - 1] }
                backward(images: images(of: worker, workers: workers, batch: s.batch), x: x, weight: weight,
                         grad: grad, gradInput: gradInput, gradWeight: dW, shape: s)
            }
        }
        if let gradWeight {
            for partial in partials {
                for i in 0..<weightCount { gradWeight[i] += partial[i] }
            }
        }
    }

    private static func backward<T: TensorScalar>(images: Range<Int>, x: UnsafePointer<T>?, weight: UnsafePointer<T>?,
                                                  grad: UnsafePointer<T>, gradInput: UnsafeMutablePointer<T>?,
                                                  gradWeight: UnsafeMutablePointer<T>?, shape s: ConvShape) {
        guard !images.isEmpty else { return }
        let (plane, k, outPer, inPer) = (s.outPlane, s.colRows, s.outPerGroup, s.inPerGroup)
        if s.isPointwise {
            for n in images {
                for g in 0..<s.groups {
                    let dy = grad + n * s.outImage + g * outPer * plane
                    let offset = n * s.inImage + g * inPer * s.inPlane
                    if let gradWeight, let x {
                        Gemm.multiply(Gemm.Operands(transB: true, m: outPer, n: inPer, k: plane, beta: 1,
                                                    a: dy, lda: plane, b: x + offset, ldb: plane,
                                                    c: gradWeight + g * outPer * k, ldc: k))
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
        defer { col.deallocate(); staging?.deallocate() }
        var first = images.lowerBound
        while first < images.upperBound {
            let nb = Swift.min(tile, images.upperBound - first)
            let columns = nb * plane
            if let gradInput {
                (gradInput + first * s.inImage).update(repeating: 0, count: nb * s.inImage)
            }
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
                if let gradWeight, let x {
                    for b in 0..<nb {
                        Im2col.unfold(x + (first + b) * s.inImage + g * inPer * s.inPlane, channels: inPer, shape: s,
                                      into: col + b * plane, ld: columns)
                    }
                    Gemm.multiply(Gemm.Operands(transB: true, m: outPer, n: k, k: columns, beta: 1,
                                                a: dy, lda: columns, b: col, ldb: columns,
                                                c: gradWeight + g * outPer * k, ldc: k))
                }
                if let gradInput, let weight {
                    // The column buffer is free again: it receives dcol.
                    Gemm.multiply(Gemm.Operands(transA: true, m: k, n: columns, k: outPer,
                                                a: weight + g * outPer * k, lda: k, b: dy, ldb: columns,
                                                c: col, ldc: columns))
                    for b in 0..<nb {
                        Im2col.fold(col + b * plane, ld: columns, channels: inPer, shape: s,
                                    into: gradInput + (first + b) * s.inImage + g * inPer * s.inPlane)
                    }
                }
            }
            first += nb
        }
    }
}
