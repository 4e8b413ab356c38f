#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A small, bounded cache of freed large ``TensorStorage`` blocks, reused by the next allocation of
/// about the same size.
///
/// Why: glibc serves every request above its mmap threshold (which adapts upward only to 32 MB) with
/// a fresh `mmap` and returns it with `munmap` on free, so an op that allocates a large output on
/// every call (a 67 MB `x + m`) faults in and zero-fills every page again — measured at 4.5–6.3 GB/s
/// against ~20 GB/s for the same loop writing into an existing buffer. Keeping a few freed blocks
/// and handing them back skips the faults.
///
/// Why not `mallopt(M_MMAP_THRESHOLD, …)` + `M_TRIM_THRESHOLD` instead: it is process-wide and
/// unbounded (the heap never shrinks below its peak), and it does not reach the allocations that
/// matter in the server: training runs on worker threads, whose glibc arenas grow in heaps of at
/// most 64 MB and fall back to `mmap` for anything larger, whatever the threshold. The cache works
/// the same on every thread and holds at most ``maximumBytes`` (and ``maximumBlocks`` blocks).
///
/// Policy: blocks of at least ``minimumBytes`` are cached on free; a request takes the smallest
/// cached block whose capacity is between the request and 1.25 times it (a much larger block would
/// waste memory for as long as the tensor lives). When a block would push the cache over either
/// cap, the oldest blocks are freed first; a block larger than the whole byte cap is freed at once.
/// All state is behind one lock, touched only for blocks of ``minimumBytes`` or more.
final class LargeBlockCache: Sendable {
    /// A block of `bytes` bytes at `pointer`, 64-byte aligned, from `posix_memalign`.
    struct Block: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        let bytes: Int
    }

    /// 64 blocks: a ResNet-20 training step at batch 64 frees dozens of 1–4 MB activations at once;
    /// with 16 blocks a share of them was faulted in afresh every step (106 k page faults over
    /// `bench train --model resnet20`, 71 k with 64). The byte cap bounds the memory either way.
    static let shared = LargeBlockCache(minimumBytes: 1 << 20, maximumBlocks: 64, maximumBytes: 256 << 20)

    let minimumBytes: Int, maximumBlocks: Int, maximumBytes: Int

    private struct State {
        /// Oldest first.
        var blocks: [Block] = []
        var bytes = 0
    }

    private let state = Mutex(State())

    init(minimumBytes: Int, maximumBlocks: Int, maximumBytes: Int) {
        precondition(minimumBytes > 0 && maximumBlocks >= 0 && maximumBytes >= 0,
                     "LargeBlockCache: invalid caps \(minimumBytes), \(maximumBlocks), \(maximumBytes)")
        self.minimumBytes = minimumBytes
        self.maximumBlocks = maximumBlocks
        self.maximumBytes = maximumBytes
    }

    /// A cached block of capacity `bytes ... 1.25·bytes`, removed from the cache, or nil.
    func take(bytes: Int) -> Block? {
        guard bytes >= minimumBytes else { return nil }
        let limit = bytes + bytes / 4
        return state.withLock { state in
            var best: Int?
            for (index, block) in state.blocks.enumerated() where block.bytes >= bytes && block.bytes <= limit {
                if best.map({ block.bytes < state.blocks[$0].bytes }) ?? true { best = index }
            }
            guard let best else { return nil }
            let block = state.blocks.remove(at: best)
            state.bytes -= block.bytes
            return block
        }
    }

    /// Caches `block`, freeing the oldest blocks beyond the caps; small or oversized blocks are freed.
    func give(_ block: Block) {
        guard block.bytes >= minimumBytes, block.bytes <= maximumBytes, maximumBlocks > 0 else {
            return free(block.pointer)
        }
        let evicted: [Block] = state.withLock { state in
            state.blocks.append(block)
            state.bytes += block.bytes
            var evicted: [Block] = []
            while state.blocks.count > maximumBlocks || state.bytes > maximumBytes {
                let oldest = state.blocks.removeFirst()
                state.bytes -= oldest.bytes
                evicted.append(oldest)
            }
            return evicted
        }
        for old in evicted { free(old.pointer) }  // outside the lock: munmap can take a while
    }

    /// Frees every cached block.
    func purge() {
        let all = state.withLock { state in
            defer { state = State() }
            return state.blocks
        }
        for block in all { free(block.pointer) }
    }

    /// Blocks and bytes held now.
    var usage: (blocks: Int, bytes: Int) {
        state.withLock { ($0.blocks.count, $0.bytes) }
    }
}
