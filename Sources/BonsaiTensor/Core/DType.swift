#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The element type of a ``Tensor``'s storage.
///
/// Bonsai computes in Float32; Float64 exists for the places where precision matters more than
/// speed: finite-difference gradient checks and scores that can overflow or underflow in Float32
/// (SynFlow multiplies |θ| through every layer, see METHODS.md §4).
public enum DType: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case float32
    case float64

    /// Bytes per element.
    public var byteSize: Int { self == .float32 ? 4 : 8 }

    public var description: String { rawValue }
}

/// The scalar types a tensor can hold. Kernels are written once, generically over this protocol, and
/// dispatched on ``DType`` at the op boundary (the whole-module optimiser specialises them for both
/// types). The math functions call the C library's typed entry points (`expf` vs `exp`) directly so
/// no generic math dispatch sits in a hot loop.
public protocol TensorScalar: BinaryFloatingPoint, Sendable, CustomStringConvertible {
    static var dtype: DType { get }
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func erf(_ x: Self) -> Self
    static func pow(_ x: Self, _ y: Self) -> Self
    static func sqrt(_ x: Self) -> Self
}

extension Float: TensorScalar {
    public static var dtype: DType { .float32 }
    @inline(__always) public static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) public static func log(_ x: Float) -> Float { logf(x) }
    @inline(__always) public static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) public static func erf(_ x: Float) -> Float { FastErf.erf(x) }
    @inline(__always) public static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
    @inline(__always) public static func sqrt(_ x: Float) -> Float { x.squareRoot() }
}

/// Float32 `erf` as a branch-free rational function, so element-wise loops (exact GELU and its
/// gradient) vectorise instead of calling libm's `erff` once per element (12 % of tinybert's
/// training time went there).
///
///     erf(x) ≈ c · P(c²) / Q(c²),   c = clamp(x, −4, 4),   result clamped to [−1, 1]
///
/// with `P` of degree 5 and `Q` of degree 5 in `c²` (`Q(0) = 1`), fitted by iteratively
/// re-weighted least squares on the relative error over [0, 4] (erf is odd; |erf(x)| rounds to 1
/// in Float32 beyond 3.92). Relative error of the fit 2.6e-8 in exact arithmetic; evaluated in
/// Float32, at most 3.4e-7 against the exact value (a few ulp, like `erff`). Float64 keeps libm's
/// `erf`, which the gradient checks rely on.
public enum FastErf {
    @inline(__always) public static func erf(_ x: Float) -> Float {
        let c = Swift.min(Swift.max(x, -4), 4)
        let t = c * c
        var p: Float = 1.985496409190515e-06
        p = p * t + 0.00028469515807423237
        p = p * t + 0.0038897108355649516
        p = p * t + 0.053121652692368994
        p = p * t + 0.1936949705823177
        p = p * t + 1.1283791394912372
        var q: Float = 3.741350434919292e-05
        q = q * t + 0.0011870822616155984
        q = q * t + 0.015220129169054537
        q = q * t + 0.11541199881438464
        q = q * t + 0.5049902406453192
        q = q * t + 1
        return Swift.min(Swift.max(c * p / q, -1), 1)
    }
}

extension Double: TensorScalar {
    public static var dtype: DType { .float64 }
    @inline(__always) public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inline(__always) public static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inline(__always) public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    @inline(__always) public static func erf(_ x: Double) -> Double { Glibc.erf(x) }
    @inline(__always) public static func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
    @inline(__always) public static func sqrt(_ x: Double) -> Double { x.squareRoot() }
}

/// Float32 `exp` without a libm call, for element-wise loops that must vectorise.
///
///     exp(x) = 2^k · e^r,   k = round(x · log₂e),   r = x − k·ln2   (|r| ≤ ½ln2)
///
/// with `ln2` split in a high and a low part so `r` is exact to Float32 rounding, `e^r` by its
/// Taylor polynomial of degree 7 (truncation error below 3e-9 relative on |r| ≤ 0.347) and `2^k`
/// built from its exponent bits. Inputs are clamped to [−87, 88] (the normal Float32 range), so
/// the result is never a denormal or infinity; measured error against libm at most a few ulp.
public enum FastExp {
    @inline(__always) public static func exp(_ x: Float) -> Float {
        let c = Swift.min(Swift.max(x, -87), 88)
        // Adding 1.5·2²³ rounds to an integer (nearest-even) in the mantissa's low bits, without
        // `rounded()`, which is a call to `rintf` on baseline x86-64 and stopped the loops that use
        // this function from vectorising; the sum's bit pattern is 0x4B40_0000 + k.
        let shifted = c * 1.4426950408889634 + 12_582_912
        let k = shifted - 12_582_912
        let r = (c - k * 0.693145751953125) - k * 1.428606765330187e-06
        var p: Float = 1.0 / 5040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        return p * Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) << 23)
    }
}
