import Foundation

/// Budget calibration after PPO (our addition; not in the paper or its release).
///
/// **Why.** The agents' reward is asymmetric around the cap: `−1.2·(exp((c − cap)/0.03) − 1)` above
/// it, `+0.1·(cap − c)` below. While training, actions are sampled around the mean (σ ≈ e⁻⁴ per
/// layer at first), so a mean *at* the cap is penalised often and hard; the expected reward peaks a
/// few noise widths below the cap, and the per-input cross-entropy term is too noisy to pull back.
/// Acting on the means afterwards therefore lands 5–20 % under the cap in our runs (see
/// docs/runtime-pruning.md), where a user asked for the cap.
///
/// **What.** One constant per agent is added to its mean keep-ratio when it acts on its means
/// (never while sampling, so PPO's log-probabilities are untouched):
/// 1. the static shift `s_st` makes the stored-parameter fraction of the static masks closest to
///    the static cap;
/// 2. with those static masks fixed, the dynamic shift `s_dyn` makes the mean realised MAC fraction
///    of the gated convs over `batches` (training data) closest to the MAC cap.
///
/// Each is found by bisection on `[−1, 1]` (the budgets grow with the shift up to the clipping to
/// `[0.1, 1]`; the dynamic agent's later states depend on earlier masks, so monotonicity is only
/// approximate) and the best of all evaluated shifts is kept. The shifts change *where* the
/// learned policies sit, not *how* they rank layers and inputs. The uncalibrated evaluation is
/// kept next to the calibrated one. Runtime inference uses `r = clip(μ(h) + b + s_dyn, 0.1, 1)`.
public enum BudgetCalibration {
    public struct Result: Codable, Sendable, Equatable {
        public var staticShift: Double
        public var dynamicShift: Double
        /// Fractions reached on the calibration data, with their caps.
        public var parameterFraction: Double
        public var parameterCap: Double
        public var macFraction: Double
        public var macCap: Double

        enum CodingKeys: String, CodingKey {
            case staticShift = "static_shift", dynamicShift = "dynamic_shift"
            case parameterFraction = "parameter_fraction", parameterCap = "parameter_cap"
            case macFraction = "mac_fraction", macCap = "mac_cap"
        }
    }

    /// Bisection steps per shift (the interval `[−1, 1]` shrinks to 2⁻¹⁵).
    static let steps = 16

    /// Calibrates `policy` in place (sets both shifts and freezes the static decisions).
    public static func calibrate(policy: RuntimePolicy, network: GatedNetwork, batches: [Tensor],
                                 parameterCap: Double, macCap: Double) -> Result {
        let wasSampling = policy.sample
        defer { policy.sample = wasSampling }
        policy.sample = false
        policy.frozenStatic = nil
        let staticFit = closestShift(target: parameterCap) { shift in
            policy.staticShift = shift
            policy.begin(inputs: 1)
            return network.budget.parameterFraction(kept: policy.staticMasks.map { $0.filter { $0 }.count })
        }
        policy.staticShift = staticFit.shift
        policy.begin(inputs: 1)
        policy.frozenStatic = (policy.staticRatios, policy.staticMasks)
        let dynamicFit = closestShift(target: macCap) { shift in
            policy.dynamicShift = shift
            return meanMACFraction(policy: policy, network: network, batches: batches)
        }
        policy.dynamicShift = dynamicFit.shift
        return Result(staticShift: staticFit.shift, dynamicShift: dynamicFit.shift,
                      parameterFraction: staticFit.value, parameterCap: parameterCap,
                      macFraction: dynamicFit.value, macCap: macCap)
    }

    /// Mean realised MAC fraction of the gated convs over `batches`, agents on their means.
    public static func meanMACFraction(policy: RuntimePolicy, network: GatedNetwork, batches: [Tensor]) -> Double {
        var total = 0.0, count = 0
        Engine.withoutGrad {
            for x in batches {
                policy.begin(inputs: x.shape[0])
                let (_, kept) = network.forward(x, context: .evaluation, controller: policy.controller)
                for k in kept { total += network.budget.macFraction(kept: k); count += 1 }
            }
        }
        return total / Double(Swift.max(count, 1))
    }

    /// The shift in `[−1, 1]` whose `measure` is closest to `target` among those bisection visits
    /// (ties: the shift nearest 0, so a budget the shift cannot move — the dynamic one at `dp = 0` —
    /// leaves the learned policy as it is). `measure` should grow with the shift.
    static func closestShift(target: Double, measure: (Double) -> Double) -> (shift: Double, value: Double) {
        var best = (shift: 0.0, value: measure(0))
        func visit(_ shift: Double) -> Double {
            let value = measure(shift)
            let gap = Swift.abs(value - target), bestGap = Swift.abs(best.value - target)
            if gap < bestGap || (gap == bestGap && Swift.abs(shift) < Swift.abs(best.shift)) { best = (shift, value) }
            return value
        }
        var low = -1.0, high = 1.0
        for _ in 0..<steps {
            let mid = (low + high) / 2
            if visit(mid) <= target { low = mid } else { high = mid }
        }
        _ = visit(low); _ = visit(high)
        return best
    }
}
