/// Sums, means and maxima over axes.
extension Tensor {
    /// Sum of all elements (a rank-0 tensor).
    public func sum() -> Tensor { sum(axes: Array(0..<rank)) }

    /// Sum over `axes` (negative axes count from the end). With `keepDims` the reduced axes stay as 1.
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let axes = Set(axes.map { normalizeAxis($0, rank: rank, op: "sum") }).sorted()
        guard !axes.isEmpty else { return self }
        var result = self.detached()
        // Reduce the highest axis first so the remaining axis numbers stay valid.
        for axis in axes.reversed() {
            let (outer, length, inner) = result.shape.split(at: axis)
            var shape = result.shape
            shape.remove(at: axis)
            var out = Tensor.empty(shape, dtype: dtype)
            let source = result
            switch dtype {
            case .float32:
                source.withScalars(Float.self) { x in out.withMutableScalars(Float.self) { o in
                    Reduce.sum(x, outer: outer, length: length, inner: inner, into: o) } }
            case .float64:
                source.withScalars(Double.self) { x in out.withMutableScalars(Double.self) { o in
                    Reduce.sum(x, outer: outer, length: length, inner: inner, into: o) } }
            }
            result = out
        }
        result = result.recording(.sum(self, axes: axes), inputs: [self])
        if keepDims {
            var kept = shape
            for axis in axes { kept[axis] = 1 }
            return result.reshaped(kept)
        }
        return result
    }

    /// Mean of all elements.
    public func mean() -> Tensor { sum().scaled(by: 1 / Double(Swift.max(count, 1))) }

    /// Mean over `axes`.
    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        // Count each axis once, as `sum(axes:)` does ([1, -1] on a rank-2 tensor is one axis).
        let n = Set(axes.map { normalizeAxis($0, rank: rank, op: "mean") }).map { shape[$0] }.reduce(1, *)
        return sum(axes: axes, keepDims: keepDims).scaled(by: 1 / Double(Swift.max(n, 1)))
    }

    /// Biased (population) variance over `axes`: mean of squared deviations.
    public func variance(axes: [Int], keepDims: Bool = false) -> Tensor {
        let centered = self - mean(axes: axes, keepDims: true)
        return (centered * centered).mean(axes: axes, keepDims: keepDims)
    }

    /// Maximum along `axis` (the gradient flows to the first maximal element).
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let axis = normalizeAxis(axis, rank: rank, op: "max")
        let (outer, length, inner) = shape.split(at: axis)
        precondition(length > 0, "max: empty axis \(axis) of \(shape)")
        var reduced = shape
        reduced.remove(at: axis)
        var out = Tensor.empty(reduced, dtype: dtype)
        var indices = [Int](repeating: 0, count: outer * inner)
        switch dtype {
        case .float32:
            withScalars(Float.self) { x in out.withMutableScalars(Float.self) { o in
                Reduce.max(x, outer: outer, length: length, inner: inner, into: o, indices: &indices) } }
        case .float64:
            withScalars(Double.self) { x in out.withMutableScalars(Double.self) { o in
                Reduce.max(x, outer: outer, length: length, inner: inner, into: o, indices: &indices) } }
        }
        let result = out.recording(.max(self, indices: indices), inputs: [self])
        if keepDims {
            var kept = shape
            kept[axis] = 1
            return result.reshaped(kept)
        }
        return result
    }

    /// Index of the maximum along `axis` (first on ties). Not differentiable.
    public func argmax(axis: Int = -1) -> [Int] {
        let axis = normalizeAxis(axis, rank: rank, op: "argmax")
        let (outer, length, inner) = shape.split(at: axis)
        let values = doubles
        var result = [Int](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var best = 0
                for r in 1..<Swift.max(length, 1) where values[(o * length + r) * inner + i] > values[(o * length + best) * inner + i] {
                    best = r
                }
                result[o * inner + i] = best
            }
        }
        return result
    }
}
