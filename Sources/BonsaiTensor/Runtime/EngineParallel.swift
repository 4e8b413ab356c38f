extension Engine {
    /// Calls `body(range)` over disjoint ranges covering `0..<count`, split over the calling
    /// thread's budget (``Engine/threads``) as the engine's own kernels are; serial when the budget
    /// is 1, when `count` is below `minimumPerThread` items per extra thread, or inside another
    /// parallel region. For the element-wise loops of other modules (the optimizers' updates).
    /// `body` must only write to the part of its output that `range` addresses.
    public static func forRanges(_ count: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
        Parallel.forRanges(count, minimumPerThread: minimumPerThread, body)
    }
}
