/// Cross-entropy with label smoothing: one fused kernel for the forward pass (a stable log-softmax
/// per row) and one for the backward pass, instead of log-softmax, gather and mean as separate ops.
///
/// For logits `x` of shape `[N, C]`, labels `y` and smoothing `ε`, the target distribution of row
/// `r` is `q = (1 − ε)·onehot(y_r) + ε/C` (PyTorch's `label_smoothing`), and
///
///     loss = (1/N) Σ_r − Σ_j q_j · log softmax(x_r)_j
///          = (1/N) Σ_r [ lse(x_r) − (1 − ε)·x_{r,y_r} − (ε/C)·Σ_j x_{r,j} ],   lse = log Σ_j e^{x_j}
///
/// (because Σ_j q_j = 1), which is what the kernel evaluates: one pass for the maximum, one for the
/// exponentials and the row sum. The gradient is the classic `∂loss/∂x_r = (softmax(x_r) − q) / N`,
/// so the forward saves the probabilities and the backward is a single element-wise pass.

/// Mean cross-entropy of `logits` (`[N, C]`) against integer `labels` (one per row, in `0..<C`),
/// PyTorch's `F.cross_entropy(logits, labels, label_smoothing: ε)` with the default mean reduction.
/// The labels come from Bonsai's own data pipeline here; data from outside goes through
/// ``crossEntropy(logits:validatingLabels:labelSmoothing:)``.
public func crossEntropy(logits: Tensor, labels: [Int], labelSmoothing: Double = 0) -> Tensor {
    do {
        try CrossEntropyKernel.validate(logits: logits, labels: labels, labelSmoothing: labelSmoothing)
    } catch {
        preconditionFailure("\(error)")
    }
    return CrossEntropyKernel.record(logits: logits, labels: labels, labelSmoothing: labelSmoothing)
}

/// ``crossEntropy(logits:labels:labelSmoothing:)`` for labels and settings that come from user data:
/// throws ``TensorError`` when the logits are not `[N, C]` with `N, C ≥ 1`, the label count is not `N`,
/// a label is outside `0..<C`, or `labelSmoothing` is outside `[0, 1]`.
public func crossEntropy(logits: Tensor, validatingLabels labels: [Int], labelSmoothing: Double = 0) throws -> Tensor {
    try CrossEntropyKernel.validate(logits: logits, labels: labels, labelSmoothing: labelSmoothing)
    return CrossEntropyKernel.record(logits: logits, labels: labels, labelSmoothing: labelSmoothing)
}

enum CrossEntropyKernel {
    static func validate(logits: Tensor, labels: [Int], labelSmoothing: Double) throws {
        guard logits.rank == 2, logits.shape[0] > 0, logits.shape[1] > 0 else {
            throw TensorError.shapeMismatch(op: "crossEntropy", shapes: [logits.shape],
                                            detail: "logits must be [N, C] with N ≥ 1 and C ≥ 1")
        }
        let (rows, classes) = (logits.shape[0], logits.shape[1])
        guard labels.count == rows else {
            throw TensorError.countMismatch(expected: rows, got: labels.count,
                                            detail: "crossEntropy labels for logits \(logits.shape)")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
            throw TensorError.invalidArgument(op: "crossEntropy",
                                              detail: "label \(labels[bad]) at position \(bad) is outside 0..<\(classes)")
        }
        guard labelSmoothing >= 0, labelSmoothing <= 1 else {
            throw TensorError.invalidArgument(op: "crossEntropy", detail: "labelSmoothing \(labelSmoothing) is outside [0, 1]")
        }
    }

    static func record(logits: Tensor, labels: [Int], labelSmoothing: Double) -> Tensor {
        let (loss, probabilities) = forward(logits, labels: labels, smoothing: labelSmoothing)
        return loss.recording(.crossEntropy(logits: logits, labels: labels, labelSmoothing: labelSmoothing,
                                            probabilities: probabilities),
                              inputs: [logits])
    }

    /// The mean loss (rank 0, the logits' dtype) and the row-wise softmax.
    static func forward(_ x: Tensor, labels: [Int], smoothing: Double) -> (loss: Tensor, probabilities: Tensor) {
        func kernel<T: TensorScalar>(_: T.Type) -> (Tensor, Tensor) {
            let (rows, width) = (x.shape[0], x.shape[1])
            var probabilities = Tensor.empty(x.shape, dtype: x.dtype)
            var rowLoss = [Double](repeating: 0, count: rows)
            let hit = 1 - smoothing, spread = smoothing / Double(width)
            x.withScalars(T.self) { src in
                probabilities.withMutableScalars(T.self) { dst in
                    rowLoss.withUnsafeMutableBufferPointer { losses in
                        labels.withUnsafeBufferPointer { labelBuffer in
                            nonisolated(unsafe) let s = src, d = dst, l = losses, y = labelBuffer
                            Parallel.forRanges(rows, minimumPerThread: Swift.max(1, 16_384 / width)) { range in
                                for r in range {
                                    let base = r * width
                                    var maximum = -T.infinity
                                    for j in 0..<width where s[base + j] > maximum { maximum = s[base + j] }
                                    if maximum == -T.infinity { maximum = 0 }
                                    var total = 0.0, rowSum = 0.0
                                    for j in 0..<width {
                                        let e = T.exp(s[base + j] - maximum)
                                        d[base + j] = e
                                        total += Double(e)
                                        rowSum += Double(s[base + j])
                                    }
                                    let inverse = T(1 / total)
                                    for j in 0..<width { d[base + j] *= inverse }
                                    let lse = Double(maximum) + Double.log(total)
                                    // Without smoothing the other logits do not enter (a −∞ logit is fine).
                                    let smoothed = spread > 0 ? spread * rowSum : 0
                                    l[r] = lse - hit * Double(s[base + y[r]]) - smoothed
                                }
                            }
                        }
                    }
                }
            }
            var total = 0.0
            for value in rowLoss { total += value }
            return (Tensor.full([], value: total / Double(rows), dtype: x.dtype), probabilities)
        }
        return dispatch(x.dtype, float: { kernel(Float.self) }, double: { kernel(Double.self) })
    }
}

enum LossGradient {
    /// `∂loss/∂x_{r,j} = g · (p_{r,j} − ε/C − (1 − ε)·[j = y_r]) / N` for the incoming scalar gradient `g`.
    static func crossEntropy(probabilities: Tensor, labels: [Int], labelSmoothing: Double, grad: Tensor) -> Tensor {
        precondition(grad.count == 1, "crossEntropy backward: gradient of shape \(grad.shape) for a scalar loss")
        let (rows, width) = (probabilities.shape[0], probabilities.shape[1])
        let g = grad.item / Double(rows)
        func kernel<T: TensorScalar>(_: T.Type) -> Tensor {
            var out = Tensor.empty(probabilities.shape, dtype: probabilities.dtype)
            let scale = T(g), spread = T(g * labelSmoothing / Double(width)), hit = T(g * (1 - labelSmoothing))
            probabilities.withScalars(T.self) { src in
                out.withMutableScalars(T.self) { dst in
                    labels.withUnsafeBufferPointer { labelBuffer in
                        nonisolated(unsafe) let p = src, d = dst, y = labelBuffer
                        Parallel.forRanges(rows, minimumPerThread: Swift.max(1, 16_384 / width)) { range in
                            for r in range {
                                let base = r * width
                                for j in 0..<width { d[base + j] = scale * p[base + j] - spread }
                                d[base + y[r]] -= hit
                            }
                        }
                    }
                }
            }
            return out
        }
        return dispatch(probabilities.dtype, float: { kernel(Float.self) }, double: { kernel(Double.self) })
    }
}
