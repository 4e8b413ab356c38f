/// The fast convolution path: im2col + GEMM, forward and backward, over raw buffers.
///
/// Per group `g` (see ``ConvShape``), with `col` the unfolded input and `dY` the output gradient:
///
///     forward        Y_g   = W_g · col_g                  [O/g × P] = [O/g × K] · [K × P]
///     weight grad    dW_gᵀ = Σ_images col_g · dY_gᵀ       [K × O/g] = [K × P] · [P × O/g]
///     input grad     stride 1: the forward of dY with the flipped kernel (``transposedShape(_:)``);
///                    otherwise dcol = W_gᵀ · dY_g, then dX = fold(dcol)  (col2im, the adjoint of im2col)
///
/// The weight gradient is accumulated transposed: with the long `K` side as the GEMM's rows
/// OpenBLAS runs it markedly faster than `dY · colᵀ` when `O/g` is small (16 or 32 channels).
///
/// Threads: the batch is split into one contiguous image range per worker of the thread budget
/// (`Parallel`); each worker owns its buffers and calls single-threaded GEMMs (a GEMM inside a
/// parallel region runs serially), so there is no synchronisation until the weight-gradient partial
/// sums of the workers are added at the end. With fewer images than threads the work runs on one
/// worker and the GEMMs themselves split across the budget.
///
/// Blocks (``Block``): the column matrix of a block has about ``blockColumns`` columns so it stays
/// in the L2 cache between im2col writing it and BLAS packing it. A large plane is cut into chunks
/// of output rows; small planes
/// are tiled, several images side by side in one `[K × nb·P]` matrix so one GEMM covers them, with
/// the output (or the gathered output gradient) copied between the tile layout `[O/g × nb·P]` and
/// NCHW. 1×1 stride-1 unpadded convolutions need no unfolding: the input planes `[C/g × P]` already
/// are the column matrix. Stride-1 layers with 8–32 input channels per group and planes of at
/// least 256 outputs skip im2col in the forward pass (and so in the input gradient, which runs as
/// a forward): ``ConvWide``. For Float32 on CPUs with AVX2 or AVX-512 every stride-1 kernel larger
/// than 1×1 runs its forward, input gradient and weight gradient on ``ConvWide``'s direct C kernels.
enum ConvGemm {
    /// The target number of columns of a block's column matrix. Chosen by A/B runs of the CIFAR
    /// layers of `bonsai bench engine` (alternating variants within one process on a busy 2-core
    /// machine, so ±10 % noise): 128 and 256 columns tied, and were 3–20 % faster than 512 and
    /// 15–30 % faster than 1024–2048 (whole 32×32 planes), for `K` from 27 to 1152; larger blocks
    /// for small `K` (first layers, 1×1) gained nothing.
    static let blockColumns = 256

    /// Images `first ..< first + count`, output rows `rows` (all rows when `count > 1`).
    struct Block {
        var first: Int, count: Int, rows: Range<Int>
    }

    /// The blocks covering `images`, in order.
    static func blocks(_ images: Range<Int>, shape s: ConvShape) -> [Block] {
        var result: [Block] = []
        if s.outPlane >= blockColumns {
            let rowsPerChunk = Swift.max(1, blockColumns / Swift.max(s.outWidth, 1))
            for n in images {
                for start in stride(from: 0, to: s.outHeight, by: rowsPerChunk) {
                    result.append(Block(first: n, count: 1, rows: start..<Swift.min(start + rowsPerChunk, s.outHeight)))
                }
            }
        } else {
            let tile = Swift.max(1, blockColumns / Swift.max(s.outPlane, 1))
            for first in stride(from: images.lowerBound, to: images.upperBound, by: tile) {
                result.append(Block(first: first, count: Swift.min(tile, images.upperBound - first), rows: 0..<s.outHeight))
            }
        }
        return result
    }

    /// The image range of worker `worker` of `workers`.
    @inline(__always)
    static func images(of worker: Int, workers: Int, batch: Int) -> Range<Int> {
        (batch * worker / workers)..<(batch * (worker + 1) / workers)
    }

    /// Per-worker buffers: the column matrix, the tile staging area, and the phase planes of one
    /// image's input (`unfold`) and input gradient (`fold`) for the `.phases` im2col layout.
    struct Buffers<T: TensorScalar> {
        let col: UnsafeMutablePointer<T>
        let staging: UnsafeMutablePointer<T>
        let phases: UnsafeMutablePointer<T>?, gradientPhases: UnsafeMutablePointer<T>?
        /// Phase-plane scalars per input channel.
        let perChannel: Int

        init(_ blocks: [Block], shape s: ConvShape, folding: Bool = false) {
            let columns = blocks.map { $0.count * $0.rows.count * s.outWidth }.max() ?? 0
            col = .allocate(capacity: Swift.max(1, s.colRows * columns))
            staging = .allocate(capacity: Swift.max(1, (blocks.contains { $0.count > 1 } ? s.outPerGroup * columns : 1)))
            perChannel = Im2col.scratchCount(s, channels: 1)
            phases = perChannel > 0 ? .allocate(capacity: perChannel * s.inChannels) : nil
            gradientPhases = perChannel > 0 && folding ? .allocate(capacity: perChannel * s.inChannels) : nil
        }

        /// The phase planes of group `g`'s channels inside `planes`.
        func group(_ planes: UnsafeMutablePointer<T>?, _ g: Int, _ s: ConvShape) -> UnsafeMutablePointer<T>? {
            planes.map { $0 + g * s.inPerGroup * perChannel }
        }

        func deallocate() { col.deallocate(); staging.deallocate(); phases?.deallocate(); gradientPhases?.deallocate() }
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
        if ConvWide.applies(s, T.self) {
            return ConvWide.forward(images: images, x: x, weight: weight, bias: bias, out: out, shape: s)
        }
        let (plane, k, outPer, inPer) = (s.outPlane, s.colRows, s.outPerGroup, s.inPerGroup)
        if s.isPointwise {
            for n in images {
                for g in 0..<s.groups {
                    let y = out + n * s.outImage + g * outPer * plane
                    if let bias { fillRows(y, rows: outPer, length: plane, stride: plane, values: bias + g * outPer) }
                    Gemm.multiply(Gemm.Operands(m: outPer, n: plane, k: inPer, beta: bias == nil ? 0 : 1,
                                                a: weight + g * outPer * k, lda: k,
                                                b: x + n * s.inImage + g * inPer * s.inPlane, ldb: plane,
                                                c: y, ldc: plane))
                }
            }
            return
        }
        let blocks = blocks(images, shape: s)
        let buffers = Buffers<T>(blocks, shape: s)
        defer { buffers.deallocate() }
        for block in blocks {
            let chunk = block.rows.count * s.outWidth, columns = block.count * chunk
            let offset = block.rows.lowerBound * s.outWidth
            // A chunked image's phase planes are split once, at its first chunk; a tile's per image.
            if block.count == 1 && block.rows.lowerBound == 0 {
                Im2col.prepare(x + block.first * s.inImage, channels: s.inChannels, shape: s, scratch: buffers.phases)
            }
            for g in 0..<s.groups {
                let phases = buffers.group(buffers.phases, g, s)
                for b in 0..<block.count {
                    let source = x + (block.first + b) * s.inImage + g * inPer * s.inPlane
                    if block.count > 1 { Im2col.prepare(source, channels: inPer, shape: s, scratch: phases) }
                    Im2col.unfold(source, channels: inPer, shape: s, rows: block.rows, into: buffers.col + b * chunk,
                                  ld: columns, scratch: phases)
                }
                let groupWeight = weight + g * outPer * k
                let groupBias = bias.map { $0 + g * outPer }
                if block.count == 1 {
                    // Straight into the output rows of this chunk (row stride: the plane).
                    let y = out + block.first * s.outImage + g * outPer * plane + offset
                    if let groupBias { fillRows(y, rows: outPer, length: chunk, stride: plane, values: groupBias) }
                    Gemm.multiply(Gemm.Operands(m: outPer, n: chunk, k: k, beta: bias == nil ? 0 : 1,
                                                a: groupWeight, lda: k, b: buffers.col, ldb: chunk, c: y, ldc: plane))
                } else {
                    Gemm.multiply(Gemm.Operands(m: outPer, n: columns, k: k, a: groupWeight, lda: k,
                                                b: buffers.col, ldb: columns, c: buffers.staging, ldc: columns))
                    for b in 0..<block.count {
                        for o in 0..<outPer {
                            let src = buffers.staging + o * columns + b * plane
                            let dst = out + (block.first + b) * s.outImage + (g * outPer + o) * plane
                            let shift = groupBias?[o] ?? 0
                            for p in 0..<plane { dst[p] = src[p] + shift }
                        }
                    }
                }
            }
        }
    }

    /// Sets each of `rows` rows (`length` scalars, row stride `stride`) to its own value: the bias
    /// before a `beta = 1` GEMM.
    @inline(__always)
    private static func fillRows<T: TensorScalar>(_ y: UnsafeMutablePointer<T>, rows: Int, length: Int, stride: Int,
                                                  values: UnsafePointer<T>) {
        for r in 0..<rows { (y + r * stride).update(repeating: values[r], count: length) }
    }
}
