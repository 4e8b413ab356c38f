import Testing
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
@testable import BonsaiTensor

/// The bounded cache of freed large storage blocks: reuse rules, the block and byte caps (memory
/// never grows past them), and that a reused dirty block still gives correct tensors.
@Suite struct CoreBlockCacheTests {
    private static func block(_ bytes: Int) -> LargeBlockCache.Block {
        var pointer: UnsafeMutableRawPointer?
        let status = posix_memalign(&pointer, 64, bytes)
        precondition(status == 0 && pointer != nil)
        return LargeBlockCache.Block(pointer: pointer!, bytes: bytes)
    }

    @Test func reusesBlocksOfMatchingOrSlightlyLargerCapacity() {
        let cache = LargeBlockCache(minimumBytes: 1 << 20, maximumBlocks: 8, maximumBytes: 64 << 20)
        defer { cache.purge() }
        #expect(cache.take(bytes: 2 << 20) == nil, "an empty cache has nothing")
        let a = Self.block(2 << 20)
        cache.give(a)
        #expect(cache.usage.blocks == 1 && cache.usage.bytes == 2 << 20)
        #expect(cache.take(bytes: 3 << 20) == nil, "a smaller block never serves a larger request")
        #expect(cache.take(bytes: 1 << 20) == nil, "a block more than 1.25× the request is not handed out")
        let reused = cache.take(bytes: (2 << 20) - 4096)
        #expect(reused?.pointer == a.pointer && reused?.bytes == 2 << 20, "a slightly larger block is reused")
        #expect(cache.usage.blocks == 0 && cache.usage.bytes == 0)
        // Best fit: of 4.5 MB and 4 MB blocks a 4 MB request takes the 4 MB one.
        let big = Self.block(9 << 19), exact = Self.block(4 << 20)
        cache.give(big); cache.give(exact)
        #expect(cache.take(bytes: 4 << 20)?.pointer == exact.pointer)
        free(reused!.pointer); free(exact.pointer)
    }

    @Test func smallAndOversizedBlocksAreNotKept() {
        let cache = LargeBlockCache(minimumBytes: 1 << 20, maximumBlocks: 8, maximumBytes: 4 << 20)
        defer { cache.purge() }
        cache.give(Self.block(512 << 10))
        cache.give(Self.block(5 << 20))
        #expect(cache.usage.blocks == 0 && cache.usage.bytes == 0)
        #expect(cache.take(bytes: 512 << 10) == nil)
    }

    @Test func capsBoundTheCacheAndEvictTheOldestFirst() {
        let cache = LargeBlockCache(minimumBytes: 1 << 20, maximumBlocks: 4, maximumBytes: 7 << 20)
        defer { cache.purge() }
        var given: [UnsafeMutableRawPointer] = []
        for _ in 0..<10 {
            let b = Self.block(2 << 20)
            given.append(b.pointer)
            cache.give(b)
            let usage = cache.usage
            #expect(usage.blocks <= 4 && usage.bytes <= 7 << 20, "usage \(usage) over the caps")
        }
        // 7 MB hold three 2 MB blocks: the three given last.
        #expect(cache.usage.blocks == 3 && cache.usage.bytes == 6 << 20)
        var taken: Set<UnsafeMutableRawPointer> = []
        while let b = cache.take(bytes: 2 << 20) { taken.insert(b.pointer); free(b.pointer) }
        #expect(taken == Set(given.suffix(3)))
        // The block cap binds when the blocks are small.
        let many = LargeBlockCache(minimumBytes: 1 << 20, maximumBlocks: 2, maximumBytes: 64 << 20)
        defer { many.purge() }
        for _ in 0..<5 { many.give(Self.block(1 << 20)) }
        #expect(many.usage.blocks == 2 && many.usage.bytes == 2 << 20)
    }

    @Test func reusedBlocksGiveCorrectTensorsAcrossThreads() {
        let shared = LargeBlockCache.shared
        let count = 1 << 19  // 2 MB of Float: cached
        let failures = UnsafeMutablePointer<Int>.allocate(capacity: 8)
        failures.initialize(repeating: 0, count: 8)
        defer { failures.deallocate() }
        nonisolated(unsafe) let sink = failures
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<6 {
                // A dirty block goes back to the cache, and a zeroed tensor must still read 0.
                _ = Tensor.full([count], value: Double(worker + round + 1), dtype: .float32).count
                let zeros = Tensor.zeros([count], dtype: .float32)
                let filled = Tensor.full([count / 2 + 100], value: Double(worker), dtype: .float32)
                let ok = zeros.withScalars(Float.self) { z in z.allSatisfy { $0 == 0 } }
                    && filled.withScalars(Float.self) { f in f.allSatisfy { $0 == Float(worker) } }
                if !ok { sink[worker] += 1 }
            }
        }
        #expect((0..<8).allSatisfy { failures[$0] == 0 }, "a reused block leaked old values")
        let usage = shared.usage
        #expect(usage.blocks <= shared.maximumBlocks && usage.bytes <= shared.maximumBytes,
                "shared cache \(usage) over its caps")
    }
}
