import Foundation

/// Channel selection from keep-ratios (METHODS.md §13.2).
///
/// A keep-ratio `r ∈ [0.1, 1]` keeps the `ceil(r·C)` channels with the largest gate values, and
/// always at least one. Ties go to the lower channel index (deterministic, like ``TopK``). The
/// count is taken with a 1e-9 slack (`ceil(r·C − 1e-9)`) so that a ratio like 0.3 of 10 channels,
/// whose product is 3.0000000000000004 in floating point, keeps 3 channels and not 4.
///
/// **The static/dynamic split (`dp`).** The reference resolves the overlap `o` of the two masks
/// per input, which makes its re-selected static mask depend on the input during training. A
/// static mask must be the same for every input to be removable from storage, so we take the
/// split with `o = 0` by construction:
/// 1. the **static** mask keeps the top `ceil(r'_st·C)` channels by the static saliency, with
///    `r'_st = 1 − (1 − r_st)(1 − dp)` (the static share of the static agent's pruning);
/// 2. the **dynamic** mask keeps, per input and among the static survivors only, the top
///    `ceil(r'·C)` channels by the dynamic gate, with `r' = r'_st − (1 − r_dyn)·dp` (the dynamic
///    share of the dynamic agent's pruning on top), never fewer than one.
/// So the statically pruned fraction is `(1 − r_st)(1 − dp)` and the dynamically pruned one
/// `(1 − r_dyn)·dp` (up to rounding): `dp = 0` is purely static, `dp = 1` purely dynamic (FBS),
/// and with `r_st = r_dyn = r` the combined keep-ratio is `r` for every `dp`.
public enum GateSelection {
    /// `max(1, min(C, ceil(r·C)))`.
    public static func keepCount(ratio r: Double, channels c: Int) -> Int {
        precondition(c > 0, "GateSelection.keepCount: \(c) channels")
        let raw = (Swift.max(0, r) * Double(c) - 1e-9).rounded(.up)
        return Swift.max(1, Swift.min(c, Int(raw)))
    }

    /// Indices of the `count` largest `scores` among `allowed` (all when nil), ascending.
    public static func top(_ scores: [Float], count: Int, allowed: [Bool]? = nil) -> [Int] {
        var candidates = Array(scores.indices)
        if let allowed { candidates = candidates.filter { allowed[$0] } }
        candidates.sort { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        return Array(candidates.prefix(count)).sorted()
    }

    /// 0/1 indicator of `kept` over `channels`.
    public static func indicator(_ kept: [Int], channels: Int) -> [Bool] {
        var result = [Bool](repeating: false, count: channels)
        for j in kept { result[j] = true }
        return result
    }

    /// Static keep-ratio after the split: `1 − (1 − r_st)(1 − dp)`.
    public static func staticRatio(_ rStatic: Double, dp: Double) -> Double { 1 - (1 - rStatic) * (1 - dp) }

    /// Combined keep-ratio after the split: `r'_st − (1 − r_dyn)·dp`.
    public static func combinedRatio(static rStatic: Double, dynamic rDynamic: Double, dp: Double) -> Double {
        staticRatio(rStatic, dp: dp) - (1 - rDynamic) * dp
    }

    /// The static mask of one layer (input-independent).
    public static func staticMask(saliency: [Float], ratio rStatic: Double, dp: Double) -> [Bool] {
        let count = keepCount(ratio: staticRatio(rStatic, dp: dp), channels: saliency.count)
        return indicator(top(saliency, count: count), channels: saliency.count)
    }

    /// The dynamic mask of one input: channels kept at run time, a subset of the static mask's.
    public static func dynamicMask(gates: [Float], staticMask: [Bool], static rStatic: Double, dynamic rDynamic: Double,
                                   dp: Double) -> [Bool] {
        precondition(gates.count == staticMask.count, "GateSelection.dynamicMask: \(gates.count) gates for \(staticMask.count) channels")
        let survivors = staticMask.reduce(0) { $0 + ($1 ? 1 : 0) }
        let wanted = keepCount(ratio: combinedRatio(static: rStatic, dynamic: rDynamic, dp: dp), channels: gates.count)
        return indicator(top(gates, count: Swift.min(wanted, survivors), allowed: staticMask), channels: gates.count)
    }
}
