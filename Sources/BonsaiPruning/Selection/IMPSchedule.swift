/// Iterative magnitude pruning's counts (open_lth `pruning/sparse_global.py`; METHODS.md §2.2).
///
/// Each level prunes `ceil(p · remaining)` of the weights still alive, so after `L` levels about
/// `(1 − p)^L` remain. open_lth takes the value at 0-based index `k` of the sorted magnitudes as the
/// threshold and keeps only weights strictly above it, which removes `k + 1` weights when there are
/// no ties; we prune exactly `k` (ties broken by position), the count its formula states.
/// With a target sparsity, the last level prunes only what is left to reach `N − round(s·N)` kept.
public enum IMPSchedule {
    /// Weights pruned at one level with `remaining` alive.
    public static func pruneCount(remaining: Int, fraction: Double) -> Int {
        Swift.min(remaining, Int((fraction * Double(remaining)).rounded(.up)))
    }

    /// Alive counts after levels 1…L: `levels` levels, or as many as it takes to reach `target`
    /// kept weights (the last one clamped to hit it exactly).
    public static func remaining(total: Int, fraction: Double, levels: Int? = nil, targetKept: Int? = nil) -> [Int] {
        var result: [Int] = []
        var alive = total
        while true {
            if let levels, result.count >= levels { break }
            if let targetKept, alive <= targetKept { break }
            if levels == nil && targetKept == nil { break }
            var pruned = pruneCount(remaining: alive, fraction: fraction)
            if let targetKept { pruned = Swift.min(pruned, alive - targetKept) }
            if pruned <= 0 { break }
            alive -= pruned
            result.append(alive)
        }
        return result
    }

    /// Number of levels needed to reach `targetKept` of `total`.
    public static func levels(total: Int, fraction: Double, targetKept: Int) -> Int {
        remaining(total: total, fraction: fraction, targetKept: targetKept).count
    }
}
