/// The polarization regulariser and the histogram-valley threshold of Zhuang et al., NeurIPS 2020
/// (METHODS.md §11.2; reference `cifar/main.py::bn_sparsity`, `clamp_bn`,
/// `cifar/models/common.py::search_threshold`).
public enum Polarization {
    /// `λ·R_s(γ) = Σ_l λ·( t·Σ_i |γ_{l,i}| − Σ_i |γ_{l,i} − γ̄| )`, with `γ̄ = (1/n) Σ_{l,i} γ_{l,i}` the
    /// mean over **all** `n` scaling factors of all layers, computed inside the graph (so it takes
    /// part in the gradient, as in the reference code; `α = 1`). Concave and permutation invariant;
    /// over `[0, a]ⁿ` its minimum puts a fraction `ρ = 1/2 − t/4` (for `|t| ≤ 2`) of the factors at
    /// `a` and the rest at 0 (Theorem 3.2), which is what makes the histogram bimodal.
    public static func regularizer(_ scales: [Tensor], t: Double, lambda: Double) -> Tensor {
        precondition(!scales.isEmpty, "Polarization.regularizer: no scaling factors")
        let n = scales.reduce(0) { $0 + $1.count }
        var total = scales[0].sum()
        for s in scales.dropFirst() { total = total + s.sum() }
        let mean = total.scaled(by: 1 / Double(n)).reshaped([1])
        var penalty: Tensor?
        for s in scales {
            let term = s.abs().sum().scaled(by: t) - (s - mean).abs().sum()
            penalty = penalty.map { $0 + term } ?? term
        }
        return penalty!.scaled(by: lambda)
    }

    /// Counts of `values` in `bins` equal bins on `[0, 1]` (numpy's `histogram(range=(0, 1))`: the
    /// last bin includes 1; values outside `[0, 1]` are not counted).
    public static func histogram(_ values: [Double], bins: Int = 100) -> [Int] {
        var counts = [Int](repeating: 0, count: bins)
        for v in values where v >= 0 && v <= 1 {
            counts[Swift.min(Int(v * Double(bins)), bins - 1)] += 1
        }
        return counts
    }

    /// The "grad" threshold strategy (paper §3.3): the first local minimum from the left of the
    /// 100-bin histogram on `[0, 1]` — the first `i` with `h[i+1] − h[i] ≤ 0 ≤ h[i+2] − h[i+1]` —
    /// gives the threshold `(i+1)·0.01`, the left edge of bin `i+1`; channels with `γ ≤ threshold`
    /// are pruned. Returns nil when the histogram has no such valley (e.g. monotone); callers then
    /// use the reference's `fixed` strategy value 0.01. (The reference warns when the threshold
    /// exceeds 0.2; ``PolarizationPruning`` reports that as a message.)
    public static func valleyThreshold(_ values: [Double], bins: Int = 100) -> Double? {
        valleyThreshold(histogram: histogram(values, bins: bins))
    }

    /// ``valleyThreshold(_:bins:)`` on a given histogram.
    public static func valleyThreshold(histogram h: [Int]) -> Double? {
        guard h.count >= 3 else { return nil }
        for i in 0...(h.count - 3) where h[i + 1] - h[i] <= 0 && 0 <= h[i + 2] - h[i + 1] {
            return Double(i + 1) / Double(h.count)
        }
        return nil
    }

    /// Clamps each scale parameter to `[0, a]` in place (after every optimizer step; `--clamp 1.0`).
    public static func clamp(_ parameters: [Parameter], max a: Double) {
        for p in parameters {
            let clamped = Engine.withoutGrad { p.value.detached().clamped(min: 0, max: a) }
            p.assign(clamped)
        }
    }

    /// Text bars of a histogram, merged into `rows` groups of bins (for reports and the reproduction).
    public static func bars(_ values: [Double], rows: Int = 20, width: Int = 50) -> [String] {
        let h = histogram(values, bins: rows)
        let top = Swift.max(h.max() ?? 1, 1)
        return h.enumerated().map { i, count in
            let low = Double(i) / Double(rows), high = Double(i + 1) / Double(rows)
            let bar = String(repeating: "#", count: (count * width + top - 1) / top)
            return "[\(Format.number(low, digits: 2)), \(Format.number(high, digits: 2))\(i == rows - 1 ? "]" : ")") \(String(count).leftPadded(5)) \(bar)"
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
