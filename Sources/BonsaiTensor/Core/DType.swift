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
    @inline(__always) public static func erf(_ x: Float) -> Float { erff(x) }
    @inline(__always) public static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
    @inline(__always) public static func sqrt(_ x: Float) -> Float { x.squareRoot() }
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
