#if canImport(Glibc)
import Glibc
#endif

/// An n-dimensional array of Float32 or Float64 scalars with reverse-mode autograd.
///
/// A `Tensor` is a value: copies share one ``TensorStorage`` and the first write to a shared block
/// copies it (copy-on-write). Data is always laid out row-major (C order) and contiguous from
/// `offset`, so ``strides`` are a function of ``shape``; ops that change the element order
/// (`transposed`, `permuted`) produce new storage, while `reshaped` and first-axis slices share it.
/// Keeping every tensor contiguous keeps every kernel a plain loop over a buffer.
///
/// A tensor that takes part in differentiation carries a ``GradNode``: a leaf for parameters and
/// inputs created with ``requiringGrad()``, an op node for results of ops on such tensors.
public struct Tensor: @unchecked Sendable {
    public private(set) var shape: [Int]
    var storage: TensorStorage
    /// Element offset of this tensor's first scalar inside `storage`.
    var offset: Int
    var node: GradNode?

    init(storage: TensorStorage, shape: [Int], offset: Int = 0, node: GradNode? = nil) {
        precondition(offset + shape.elementCount <= storage.count, "Tensor: view outside its storage")
        self.storage = storage
        self.shape = shape
        self.offset = offset
        self.node = node
    }

    /// An uninitialised tensor for kernels that write every element.
    static func empty(_ shape: [Int], dtype: DType) -> Tensor {
        Tensor(storage: TensorStorage(dtype: dtype, count: shape.elementCount, zeroed: false), shape: shape)
    }

    public var dtype: DType { storage.dtype }
    /// Number of elements.
    public var count: Int { shape.elementCount }
    public var rank: Int { shape.count }
    /// Row-major strides in elements.
    public var strides: [Int] { shape.rowMajorStrides }

    // MARK: Creation

    /// A tensor holding `scalars` in row-major order. `scalars.count` must equal the shape's product.
    public init<T: TensorScalar>(shape: [Int], scalars: [T]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor(shape:scalars:): negative dimension in \(shape)")
        precondition(scalars.count == shape.elementCount,
                     "Tensor(shape:scalars:): \(scalars.count) scalars for shape \(shape)")
        let storage = TensorStorage(dtype: T.dtype, count: scalars.count, zeroed: false)
        scalars.withUnsafeBufferPointer { source in
            if let base = source.baseAddress {
                storage.raw.copyMemory(from: base, byteCount: scalars.count * MemoryLayout<T>.stride)
            }
        }
        self.init(storage: storage, shape: shape)
    }

    /// Validating variant of ``init(shape:scalars:)`` for data that comes from outside.
    public init<T: TensorScalar>(validatingShape shape: [Int], scalars: [T]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(op: "Tensor", detail: "negative dimension in shape \(shape)")
        }
        guard scalars.count == shape.elementCount else {
            throw TensorError.countMismatch(expected: shape.elementCount, got: scalars.count,
                                            detail: "Tensor of shape \(shape)")
        }
        self.init(shape: shape, scalars: scalars)
    }

    /// A rank-0 tensor.
    public init(_ value: Double, dtype: DType = .float32) {
        self = Tensor.full([], value: value, dtype: dtype)
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        Tensor(storage: TensorStorage(dtype: dtype, count: shape.elementCount, zeroed: true), shape: shape)
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        full(shape, value: 1, dtype: dtype)
    }

    public static func full(_ shape: [Int], value: Double, dtype: DType = .float32) -> Tensor {
        var result = empty(shape, dtype: dtype)
        switch dtype {
        case .float32: result.withMutableScalars(Float.self) { $0.initialize(repeating: Float(value)) }
        case .float64: result.withMutableScalars(Double.self) { $0.initialize(repeating: value) }
        }
        return result
    }

    /// `0, 1, …, n-1` as a rank-1 tensor.
    public static func arange(_ n: Int, dtype: DType = .float32) -> Tensor {
        Tensor(shape: [n], scalars: (0..<n).map(Double.init)).cast(to: dtype)
    }

    // MARK: Access

    /// Calls `body` with the tensor's scalars. `T` must match ``dtype``.
    @inline(__always)
    public func withScalars<T: TensorScalar, R>(_ type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R) rethrows -> R {
        precondition(T.dtype == dtype, "withScalars: tensor is \(dtype), asked for \(T.dtype)")
        let base = (storage.raw + offset * dtype.byteSize).assumingMemoryBound(to: T.self)
        return try withExtendedLifetime(storage) { try body(UnsafeBufferPointer(start: base, count: count)) }
    }

    /// Calls `body` with writable scalars, copying the storage first if it is shared (copy-on-write).
    @inline(__always)
    public mutating func withMutableScalars<T: TensorScalar, R>(_ type: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R) rethrows -> R {
        precondition(T.dtype == dtype, "withMutableScalars: tensor is \(dtype), asked for \(T.dtype)")
        makeUnique()
        let base = (storage.raw + offset * dtype.byteSize).assumingMemoryBound(to: T.self)
        return try withExtendedLifetime(storage) { try body(UnsafeMutableBufferPointer(start: base, count: count)) }
    }

    /// Gives this tensor storage of its own if any other tensor shares it.
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) || offset != 0 || storage.count != count {
            storage = storage.copy(offset: offset, length: count)
            offset = 0
        }
    }

    /// Copies `source`'s scalars into this tensor (same shape and dtype) in place, keeping this
    /// tensor's graph node: how optimizers update a parameter leaf without changing its identity.
    /// Any other tensor sharing the old storage keeps the old values (copy-on-write).
    public mutating func overwrite(with source: Tensor) {
        precondition(source.shape == shape && source.dtype == dtype,
                     "overwrite: source \(source.shape) \(source.dtype) for \(shape) \(dtype)")
        if !isKnownUniquelyReferenced(&storage) || offset != 0 || storage.count != count {
            storage = TensorStorage(dtype: dtype, count: count, zeroed: false)
            offset = 0
        }
        let bytes = count * dtype.byteSize
        source.withRawBytes { src in storage.raw.copyMemory(from: src, byteCount: bytes) }
    }

    /// The scalars converted to `T`, in row-major order.
    public func scalars<T: TensorScalar>(as type: T.Type = T.self) -> [T] {
        switch dtype {
        case .float32: return withScalars(Float.self) { $0.map { T($0) } }
        case .float64: return withScalars(Double.self) { $0.map { T($0) } }
        }
    }

    /// The scalars as Float32.
    public var floats: [Float] { scalars(as: Float.self) }
    /// The scalars as Float64.
    public var doubles: [Double] { scalars(as: Double.self) }

    /// The single value of a one-element tensor.
    public var item: Double {
        precondition(count == 1, "item: tensor of shape \(shape) has \(count) elements")
        return doubles[0]
    }

    /// The scalar at a multi-index.
    public subscript(_ indices: Int...) -> Double {
        precondition(indices.count == rank, "subscript: \(indices.count) indices for rank \(rank)")
        var flat = 0
        for (axis, index) in indices.enumerated() {
            precondition(index >= 0 && index < shape[axis], "subscript: index \(index) out of range for axis \(axis) of \(shape)")
            flat = flat * shape[axis] + index
        }
        switch dtype {
        case .float32: return withScalars(Float.self) { Double($0[flat]) }
        case .float64: return withScalars(Double.self) { $0[flat] }
        }
    }

    /// True when the two tensors share storage (used by tests of copy-on-write and views).
    public func sharesStorage(with other: Tensor) -> Bool { storage === other.storage }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = doubles.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(\(dtype), shape: \(shape), [\(values)\(count > 8 ? ", …" : "")])"
    }
}
