/// Movement pruning's threshold schedule (`schedule_threshold` of the reference, METHODS.md §14.2):
/// with `T` total steps and `w` warm-up steps, the threshold is `τ_i` for `t ≤ initial_warmup·w`,
/// `τ_f` for `t > T − final_warmup·w`, and in between
///
///     p = 1 − (t − initial_warmup·w) / (T − (initial_warmup + final_warmup)·w),   τ_t = τ_f + (τ_i − τ_f)·p³
///
/// The regulariser weight follows it: `λ_t = λ_final · τ_t / τ_f`.
public struct ThresholdSchedule: Sendable, Equatable {
    public var total: Int
    public var warmup: Int
    public var initialWarmup: Double = 1
    public var finalWarmup: Double = 2
    public var initial: Double
    public var final: Double

    public init(total: Int, warmup: Int, initial: Double, final: Double, initialWarmup: Double = 1, finalWarmup: Double = 2) {
        self.total = total; self.warmup = warmup; self.initial = initial; self.final = final
        self.initialWarmup = initialWarmup; self.finalWarmup = finalWarmup
    }

    public func threshold(at t: Int) -> Double {
        let start = initialWarmup * Double(warmup)
        let t = Double(t)
        if t <= start { return initial }
        if t > Double(total) - finalWarmup * Double(warmup) { return final }
        let span = Double(total) - (initialWarmup + finalWarmup) * Double(warmup)
        let p = 1 - (t - start) / Swift.max(span, 1)
        return final + (initial - final) * p * p * p
    }

    public func regularization(at t: Int, final lambda: Double) -> Double {
        final == 0 ? 0 : lambda * threshold(at: t) / final
    }
}
