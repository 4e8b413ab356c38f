/// Element-wise arithmetic with NumPy broadcasting, and the operators that spell it.
extension Tensor {
    private func checkedBroadcast(_ other: Tensor, _ op: String) -> [Int] {
        precondition(dtype == other.dtype, "\(op): dtypes \(dtype) and \(other.dtype) differ")
        do { return try Broadcast.shape(shape, other.shape, op: op) } catch {
            preconditionFailure("\(error)")
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let shape = a.checkedBroadcast(b, "add")
        let out = dispatch(a.dtype,
                           float: { Elementwise.broadcast(a, b, to: shape, Float.self, +) },
                           double: { Elementwise.broadcast(a, b, to: shape, Double.self, +) })
        return out.recording(.add(a, b), inputs: [a, b])
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let shape = a.checkedBroadcast(b, "sub")
        let out = dispatch(a.dtype,
                           float: { Elementwise.broadcast(a, b, to: shape, Float.self, -) },
                           double: { Elementwise.broadcast(a, b, to: shape, Double.self, -) })
        return out.recording(.sub(a, b), inputs: [a, b])
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let shape = a.checkedBroadcast(b, "mul")
        let out = dispatch(a.dtype,
                           float: { Elementwise.broadcast(a, b, to: shape, Float.self, *) },
                           double: { Elementwise.broadcast(a, b, to: shape, Double.self, *) })
        return out.recording(.mul(a, b), inputs: [a, b])
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let shape = a.checkedBroadcast(b, "div")
        let out = dispatch(a.dtype,
                           float: { Elementwise.broadcast(a, b, to: shape, Float.self, /) },
                           double: { Elementwise.broadcast(a, b, to: shape, Double.self, /) })
        return out.recording(.div(a, b), inputs: [a, b])
    }

    public static prefix func - (x: Tensor) -> Tensor {
        let out = dispatch(x.dtype,
                           float: { Elementwise.map(x, Float.self) { -$0 } },
                           double: { Elementwise.map(x, Double.self) { -$0 } })
        return out.recording(.neg(x), inputs: [x])
    }

    /// `x · c`.
    public func scaled(by c: Double) -> Tensor {
        let out = dispatch(dtype,
                           float: { Elementwise.map(self, Float.self, parameter: Float(c)) { $0 * $1 } },
                           double: { Elementwise.map(self, Double.self, parameter: c) { $0 * $1 } })
        return out.recording(.scale(self, c), inputs: [self])
    }

    /// `x + c`.
    public func shifted(by c: Double) -> Tensor {
        let out = dispatch(dtype,
                           float: { Elementwise.map(self, Float.self, parameter: Float(c)) { $0 + $1 } },
                           double: { Elementwise.map(self, Double.self, parameter: c) { $0 + $1 } })
        return out.recording(.shift(self), inputs: [self])
    }

    /// `x^p` element-wise.
    public func pow(_ p: Double) -> Tensor {
        let out: Tensor
        if p == 2 {
            out = dispatch(dtype, float: { Elementwise.map(self, Float.self) { $0 * $0 } },
                           double: { Elementwise.map(self, Double.self) { $0 * $0 } })
        } else {
            out = dispatch(dtype,
                           float: { Elementwise.map(self, Float.self, parameter: Float(p)) { Float.pow($0, $1) } },
                           double: { Elementwise.map(self, Double.self, parameter: p) { Double.pow($0, $1) } })
        }
        return out.recording(.power(self, p), inputs: [self])
    }

    public static func * (a: Tensor, c: Double) -> Tensor { a.scaled(by: c) }
    public static func * (c: Double, a: Tensor) -> Tensor { a.scaled(by: c) }
    public static func / (a: Tensor, c: Double) -> Tensor { a.scaled(by: 1 / c) }
    public static func + (a: Tensor, c: Double) -> Tensor { a.shifted(by: c) }
    public static func + (c: Double, a: Tensor) -> Tensor { a.shifted(by: c) }
    public static func - (a: Tensor, c: Double) -> Tensor { a.shifted(by: -c) }
    public static func - (c: Double, a: Tensor) -> Tensor { (-a).shifted(by: c) }

    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
}
