/// Sparsity schedules.
public enum SparsitySchedule {
    /// Zhu & Gupta's polynomial ramp (TF-MOT `PolynomialDecay`):
    ///
    ///     p = clip((t − t₀) / (t₁ − t₀), 0, 1),   s_t = s_f + (s_i − s_f)·(1 − p)^power
    ///
    /// With power 3 ("cubic") the midpoint value is `s_f − (s_f − s_i)/8`.
    public static func polynomial(step t: Int, begin: Int, end: Int, initial: Double, final: Double, power: Double = 3) -> Double {
        let span = Swift.max(end - begin, 1)
        let p = Swift.min(Swift.max(Double(t - begin) / Double(span), 0), 1)
        return final + (initial - final) * powDouble(1 - p, power)
    }

    /// Whether a mask update happens after step `t`: every `frequency` steps inside `[begin, end]`.
    public static func isUpdateStep(_ t: Int, begin: Int, end: Int, frequency: Int) -> Bool {
        t >= begin && t <= end && (t - begin) % Swift.max(frequency, 1) == 0
    }

    /// Density after round `r` of `n` rounds reaching sparsity `s`, pruning the same fraction of the
    /// remaining weights each round: `(1 − s)^{r/n}`.
    public static func iterativeSparsity(round r: Int, of n: Int, final s: Double) -> Double {
        1 - powDouble(1 - s, Double(r) / Double(Swift.max(n, 1)))
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func powDouble(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
#endif
