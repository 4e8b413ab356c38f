#if canImport(Glibc)
import Glibc
#endif

/// A 64-byte aligned, heap-allocated block of scalars of one ``DType``.
///
/// `Tensor` shares storage between copies and copies it only on a write to a shared block
/// (copy-on-write). The block is immutable from the point of view of every tensor that shares it, which
/// is what makes handing tensors to other threads safe.
///
/// Large blocks (at least ``LargeBlockCache/minimumBytes``) are taken from and returned to the
/// ``LargeBlockCache`` rather than straight from glibc, so an op that allocates a fresh large output
/// on every call reuses pages that are already mapped instead of faulting in new ones.
public final class TensorStorage: @unchecked Sendable {
    public let dtype: DType
    /// Number of scalars.
    public let count: Int
    let raw: UnsafeMutableRawPointer
    /// Bytes actually allocated (at least `count · byteSize`; more for a reused cached block).
    let capacityBytes: Int

    /// Allocates `count` scalars; zero-filled when `zeroed`.
    init(dtype: DType, count: Int, zeroed: Bool) {
        precondition(count >= 0, "TensorStorage: negative count \(count)")
        self.dtype = dtype
        self.count = count
        let bytes = max(count * dtype.byteSize, 64)
        if let block = LargeBlockCache.shared.take(bytes: bytes) {
            raw = block.pointer
            capacityBytes = block.bytes
        } else {
            var pointer: UnsafeMutableRawPointer?
            let status = posix_memalign(&pointer, 64, bytes)
            precondition(status == 0 && pointer != nil, "TensorStorage: out of memory allocating \(bytes) bytes")
            raw = pointer!
            capacityBytes = bytes
        }
        if zeroed { memset(raw, 0, bytes) }
    }

    deinit { LargeBlockCache.shared.give(LargeBlockCache.Block(pointer: raw, bytes: capacityBytes)) }

    /// A new block holding `length` scalars of this one starting at `offset`.
    func copy(offset: Int, length: Int) -> TensorStorage {
        let result = TensorStorage(dtype: dtype, count: length, zeroed: false)
        memcpy(result.raw, raw + offset * dtype.byteSize, length * dtype.byteSize)
        return result
    }
}
