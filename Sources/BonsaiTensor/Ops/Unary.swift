/// Element-wise functions. Each records its op so the backward rule can use the saved output where
/// that is cheaper than recomputing (exp, sqrt, tanh, sigmoid).
extension Tensor {
    public func exp() -> Tensor {
        let out = dispatch(dtype, float: { Elementwise.map(self, Float.self) { Float.exp($0) } },
                           double: { Elementwise.map(self, Double.self) { Double.exp($0) } })
        return out.recording(.exp(self, output: out.detached()), inputs: [self])
    }

    public func log() -> Tensor {
        let out = dispatch(dtype, float: { Elementwise.map(self, Float.self) { Float.log($0) } },
                           double: { Elementwise.map(self, Double.self) { Double.log($0) } })
        return out.recording(.log(self), inputs: [self])
    }

    public func sqrt() -> Tensor {
        let out = dispatch(dtype, float: { Elementwise.map(self, Float.self) { $0.squareRoot() } },
                           double: { Elementwise.map(self, Double.self) { $0.squareRoot() } })
        return out.recording(.sqrt(self, output: out.detached()), inputs: [self])
    }

    public func abs() -> Tensor {
        let out = dispatch(dtype, float: { Elementwise.map(self, Float.self) { Swift.abs($0) } },
                           double: { Elementwise.map(self, Double.self) { Swift.abs($0) } })
        return out.recording(.abs(self), inputs: [self])
    }

    /// `max(x, 0)`; the gradient at exactly 0 is 0, as in PyTorch.
    public func relu() -> Tensor {
        let out = dispatch(dtype, float: { Elementwise.map(self, Float.self) { $0 > 0 ? $0 : 0 } },
                           double: { Elementwise.map(self, Double.self) { $0 > 0 ? $0 : 0 } })
        return out.recording(.relu(self), inputs: [self])
    }

    /// Exact GELU: `x · Φ(x) = x · ½(1 + erf(x/√2))` (``GeluKernel``).
    public func gelu() -> Tensor {
        let out = GeluKernel.forward(self)
        return out.recording(.gelu(self), inputs: [self])
    }

    public func tanh() -> Tensor {
        let out = dispatch(dtype, float: { Elementwise.map(self, Float.self) { Float.tanh($0) } },
                           double: { Elementwise.map(self, Double.self) { Double.tanh($0) } })
        return out.recording(.tanh(self, output: out.detached()), inputs: [self])
    }

    /// `1 / (1 + e^{−x})`, computed without overflow for large |x|.
    public func sigmoid() -> Tensor {
        func sigmoid<T: TensorScalar>(_ x: T) -> T {
            if x >= 0 { return 1 / (1 + T.exp(-x)) }
            let e = T.exp(x)
            return e / (1 + e)
        }
        let out = dispatch(dtype, float: { Elementwise.map(self, Float.self, sigmoid) },
                           double: { Elementwise.map(self, Double.self, sigmoid) })
        return out.recording(.sigmoid(self, output: out.detached()), inputs: [self])
    }

    /// Clamps to `[low, high]`. The gradient passes where `low ≤ x ≤ high` (PyTorch's rule).
    public func clamped(min low: Double = -.infinity, max high: Double = .infinity) -> Tensor {
        let out = dispatch(dtype,
                           float: { Elementwise.map(self, Float.self, parameter: (Float(low), Float(high))) { Swift.min(Swift.max($0, $1.0), $1.1) } },
                           double: { Elementwise.map(self, Double.self, parameter: (low, high)) { Swift.min(Swift.max($0, $1.0), $1.1) } })
        return out.recording(.clamp(self, low: low, high: high), inputs: [self])
    }

    /// Converts to `dtype` (a no-op when it already is). Differentiable.
    public func cast(to target: DType) -> Tensor {
        if target == dtype { return self }
        var out = Tensor.empty(shape, dtype: target)
        switch (dtype, target) {
        case (.float32, .float64):
            withScalars(Float.self) { src in out.withMutableScalars(Double.self) { dst in
                for i in 0..<src.count { dst[i] = Double(src[i]) } } }
        case (.float64, .float32):
            withScalars(Double.self) { src in out.withMutableScalars(Float.self) { dst in
                for i in 0..<src.count { dst[i] = Float(src[i]) } } }
        default: break
        }
        return out.recording(.cast(self), inputs: [self])
    }

    /// `self ⊙ mask` for a constant 0/1 mask of the same shape: the effective weight of a pruned
    /// parameter. Entries where the mask is 0 are exactly 0 and get exactly zero gradient (even when
    /// the incoming gradient is NaN or infinite), which a plain multiplication would not guarantee.
    public func masked(by mask: Tensor) -> Tensor {
        precondition(mask.shape == shape, "masked(by:): mask shape \(mask.shape) differs from tensor shape \(shape)")
        let m = mask.cast(to: dtype).detached()
        let out = Tensor.applyMask(self, m)
        return out.recording(.mask(self, mask: m), inputs: [self])
    }

    /// `x` where `mask ≠ 0`, exactly 0 elsewhere.
    static func applyMask(_ x: Tensor, _ mask: Tensor) -> Tensor {
        dispatch(x.dtype, float: { Elementwise.zip(x, mask, Float.self) { $1 != 0 ? $0 : 0 } },
                 double: { Elementwise.zip(x, mask, Double.self) { $1 != 0 ? $0 : 0 } })
    }
}

/// Non-differentiable element-wise helpers (their results never carry a gradient).
extension Tensor {
    /// −1, 0 or 1 per element.
    public func sign() -> Tensor {
        dispatch(dtype, float: { Elementwise.map(self, Float.self) { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) } },
                 double: { Elementwise.map(self, Double.self) { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) } })
    }

    /// 1 where `x > threshold`, else 0.
    public func greater(than threshold: Double) -> Tensor {
        dispatch(dtype, float: { Elementwise.map(self, Float.self, parameter: Float(threshold)) { $0 > $1 ? 1 : 0 } },
                 double: { Elementwise.map(self, Double.self, parameter: threshold) { $0 > $1 ? 1 : 0 } })
    }

    /// True when every element is finite.
    public var isFinite: Bool {
        switch dtype {
        case .float32: return withScalars(Float.self) { $0.allSatisfy { $0.isFinite } }
        case .float64: return withScalars(Double.self) { $0.allSatisfy { $0.isFinite } }
        }
    }
}
