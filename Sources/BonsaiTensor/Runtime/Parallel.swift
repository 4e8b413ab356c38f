import Dispatch

/// Data-parallel loops within the calling thread's budget (``Engine/threads``).
///
/// Work is split into at most `Engine.threads` contiguous chunks run by `concurrentPerform`, which
/// uses the calling thread plus Dispatch's worker threads (never Swift concurrency's pool). Inside
/// a parallel region a nested call runs serially, so the budget holds.
enum Parallel {
    /// Calls `body(range)` over disjoint ranges covering `0..<count`. Runs serially when the budget
    /// is 1, when `count` is small (below `minimumPerThread` items per extra thread), or when nested.
    static func forRanges(_ count: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
        forRanges(count, minimumPerThread: minimumPerThread, context: ()) { range, _ in body(range) }
    }

    /// ``forRanges(_:minimumPerThread:_:)`` with the loop's data passed to `body` as `context`
    /// instead of captured. Why: when `body` captures nothing but a non-capturing closure (an
    /// element-wise operation such as `+` or `{ $0 > 0 ? $0 : 0 }`), the optimiser specialises it
    /// for that constant (capture propagation) and the per-range loop is inlined and vectorised; a
    /// body that also captured the buffers would call the operation through a pointer per element.
    @inline(__always)
    static func forRanges<Context>(_ count: Int, minimumPerThread: Int = 1, context: Context,
                                   _ body: (Range<Int>, Context) -> Void) {
        guard count > 0 else { return }
        let state = ThreadState.current
        let workers = Swift.min(state.threads, Swift.max(1, count / Swift.max(minimumPerThread, 1)), count)
        if workers <= 1 || state.insideParallelRegion {
            body(0..<count, context)
            return
        }
        state.insideParallelRegion = true
        defer { state.insideParallelRegion = false }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            nonisolated(unsafe) let context = context
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let start = count * worker / workers
                let end = count * (worker + 1) / workers
                if start < end {
                    let inner = ThreadState.current
                    let savedInside = inner.insideParallelRegion
                    inner.insideParallelRegion = true
                    body(start..<end, context)
                    inner.insideParallelRegion = savedInside
                }
            }
        }
    }

    /// The number of workers `forRanges` would use for `count` items.
    static func workerCount(_ count: Int, minimumPerThread: Int = 1) -> Int {
        let state = ThreadState.current
        if state.insideParallelRegion { return 1 }
        return Swift.max(1, Swift.min(state.threads, Swift.max(1, count / Swift.max(minimumPerThread, 1)), count))
    }
}
