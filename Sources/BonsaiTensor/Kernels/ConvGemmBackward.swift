/// The backward pass of the im2col + GEMM convolution (see ``ConvGemm`` for the formulas, the
/// threading and the blocking).
extension ConvGemm {
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
        let direct = ConvWide.directWeightGradient(s, T.self)
        Parallel.forRanges(workers) { range in
            for worker in range {
                let images = images(of: worker, workers: workers, batch: s.batch)
                var partial = sums.isEmpty ? nil : sums[worker]
                if direct, let sum = partial, let x {
                    ConvWide.weightGradient(images: images, x: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                                            grad: UnsafeRawPointer(grad).assumingMemoryBound(to: Float.self),
                                            intoTransposed: UnsafeMutableRawPointer(sum).assumingMemoryBound(to: Float.self),
                                            shape: s)
                    partial = nil
                }
                backward(images: images, x: x, weight: weight, grad: grad, gradInput: gradInput,
                         gradWeightTransposed: partial, shape: s)
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
    /// (strides above 1, 1×1 kernels, padding beyond `k − 1`) or does not pay: when the input plane
    /// is more than 25 % larger than the output plane (an unpadded 5×5 on 12×12 gives 8×8 outputs,
    /// and the transposed convolution would unfold 12×12 positions, mostly of padding, for every
    /// one of its `(O/groups)·kh·kw` rows — 2.25 times the column matrix of `Wᵀ · dY`).
    static func transposedShape(_ s: ConvShape) -> ConvShape? {
        guard s.strideH == 1, s.strideW == 1, !s.isPointwise, s.padH < s.kernelH, s.padW < s.kernelW,
              4 * s.inPlane <= 5 * s.outPlane else { return nil }
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
        guard !images.isEmpty, gradInput != nil || gradWeightTransposed != nil else { return }
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
        let blocks = blocks(images, shape: s)
        let buffers = Buffers<T>(blocks, shape: s, folding: gradInput != nil)
        defer { buffers.deallocate() }
        for block in blocks {
            let chunk = block.rows.count * s.outWidth, columns = block.count * chunk
            let offset = block.rows.lowerBound * s.outWidth
            // A chunked image (count 1) is prepared at its first chunk and finished at its last, for
            // all channels at once; a tile's images are handled whole, per group.
            let chunked = block.count == 1
            let firstChunk = chunked && block.rows.lowerBound == 0, lastChunk = chunked && block.rows.upperBound == s.outHeight
            if firstChunk && gradWeightTransposed != nil, let x {
                Im2col.prepare(x + block.first * s.inImage, channels: s.inChannels, shape: s, scratch: buffers.phases)
            }
            if firstChunk, let gradInput {
                Im2col.beginFold(gradInput + block.first * s.inImage, channels: s.inChannels, shape: s,
                                 scratch: buffers.gradientPhases)
            }
            for g in 0..<s.groups {
                let (phases, gradientPhases) = (buffers.group(buffers.phases, g, s), buffers.group(buffers.gradientPhases, g, s))
                // dY of this group and block as a [O/g × columns] matrix with row stride `ldy`:
                // in place for one image, gathered into the staging area for a tile.
                var dy = UnsafePointer(grad + block.first * s.outImage + g * outPer * plane + offset)
                var ldy = plane
                if block.count > 1 {
                    for o in 0..<outPer {
                        for b in 0..<block.count {
                            (buffers.staging + o * columns + b * plane)
                                .update(from: grad + (block.first + b) * s.outImage + (g * outPer + o) * plane, count: plane)
                        }
                    }
                    dy = UnsafePointer(buffers.staging)
                    ldy = columns
                }
                if let gradWeightTransposed, let x {
                    for b in 0..<block.count {
                        let source = x + (block.first + b) * s.inImage + g * inPer * s.inPlane
                        if !chunked { Im2col.prepare(source, channels: inPer, shape: s, scratch: phases) }
                        Im2col.unfold(source, channels: inPer, shape: s, rows: block.rows, into: buffers.col + b * chunk,
                                      ld: columns, scratch: phases)
                    }
                    Gemm.multiply(Gemm.Operands(transB: true, m: k, n: outPer, k: columns, beta: 1,
                                                a: buffers.col, lda: columns, b: dy, ldb: ldy,
                                                c: gradWeightTransposed + g * outPer * k, ldc: outPer))
                }
                if let gradInput, let weight {
                    // The column buffer is free again: it receives dcol.
                    Gemm.multiply(Gemm.Operands(transA: true, m: k, n: columns, k: outPer,
                                                a: weight + g * outPer * k, lda: k, b: dy, ldb: ldy,
                                                c: buffers.col, ldc: columns))
                    for b in 0..<block.count {
                        let target = gradInput + (block.first + b) * s.inImage + g * inPer * s.inPlane
                        if !chunked { Im2col.beginFold(target, channels: inPer, shape: s, scratch: gradientPhases) }
                        Im2col.fold(buffers.col + b * chunk, ld: columns, channels: inPer, shape: s, rows: block.rows,
                                    into: target, scratch: gradientPhases)
                        if !chunked { Im2col.endFold(target, channels: inPer, shape: s, scratch: gradientPhases) }
                    }
                }
            }
            if lastChunk, let gradInput {
                Im2col.endFold(gradInput + block.first * s.inImage, channels: s.inChannels, shape: s,
                               scratch: buffers.gradientPhases)
            }
        }
    }
}
