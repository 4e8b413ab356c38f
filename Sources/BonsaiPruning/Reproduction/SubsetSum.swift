import Foundation
/// The random SubsetSum lemma behind strong lottery tickets (Pensia et al., NeurIPS 2020; METHODS.md
/// §8.2, §8.6 item 3): with n i.i.d. U[−1, 1] samples, every target in [−1, 1] is within ε of some
/// subset sum, with ε falling exponentially in n; and the two-layer construction approximates a
/// 4×4 ReLU-free linear layer `x ↦ Wx` to that precision with pruned random weights only.
public enum SubsetSumDemonstration: Reproduction {
    public static let name = "subset-sum"
    public static let claim = "The best subset-sum approximation error of random U[−1,1] samples falls exponentially in their number n (≈ 2^−n), and pruning a random two-layer block approximates a 4×4 target layer to that precision."
    public static let source = "METHODS.md §8.2, §8.6"

    /// The smallest |target − Σ_{i∈S} values_i| over all subsets (Gray-code enumeration, 2ⁿ sums).
    public static func bestError(_ values: [Double], target: Double) -> (error: Double, subset: [Bool]) {
        var sum = 0.0, best = Swift.abs(target), bestCode = 0
        var code = 0
        for step in 1..<(1 << values.count) {
            let bit = step.trailingZeroBitCount
            code ^= 1 << bit
            sum += (code >> bit) & 1 == 1 ? values[bit] : -values[bit]
            let error = Swift.abs(target - sum)
            if error < best { best = error; bestCode = code }
        }
        return (best, (0..<values.count).map { (bestCode >> $0) & 1 == 1 })
    }

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        var rng = RandomGenerator(seed: options.seeds.first ?? 1)
        let sizes = options.quick ? Array(stride(from: 4, through: 14, by: 2)) : Array(stride(from: 4, through: 20, by: 2))
        var rows: [[String]] = []
        var points: [(n: Double, log2Error: Double)] = []
        for n in sizes {
            let trials = 20
            var total = 0.0
            for _ in 0..<trials {
                let values = (0..<n).map { _ in 2 * rng.nextUnit() - 1 }
                total += bestError(values, target: 2 * rng.nextUnit() - 1).error
            }
            let mean = total / Double(trials)
            points.append((Double(n), log2(mean)))
            rows.append(["scalar", "\(n)", String(format: "%.2e", mean), ""])
        }
        // Least-squares slope of log2(error) against n.
        let count = Double(points.count)
        let mx = points.reduce(0.0) { $0 + $1.n } / count
        let my = points.reduce(0.0) { $0 + $1.log2Error } / count
        var covariance = 0.0, variance = 0.0
        for p in points {
            covariance += (p.n - mx) * (p.log2Error - my)
            variance += (p.n - mx) * (p.n - mx)
        }
        let slope = covariance / variance

        // The 4×4 layer: for input j, n hidden units σ(a_k x_j); output i keeps a subset of them with random
        // output weights b. Positive a see σ(x_j), negative a see σ(−x_j): w·x = w·σ(x) − w·σ(−x).
        var layerErrors: [Double] = []
        let blockSizes = options.quick ? [8, 12, 16] : [8, 12, 16, 20]
        let layers = 5
        let targets = (0..<layers).map { _ in (0..<16).map { _ in 2 * rng.nextUnit() - 1 } }   // the same layers for every size
        for half in blockSizes {
            var meanSup = 0.0
            for target in targets {
                var coefficientError = [Double](repeating: 0, count: 16)
                for ij in 0..<16 {
                    let positive = (0..<half).map { _ in rng.nextUnit() * (2 * rng.nextUnit() - 1) }   // a·b with a > 0
                    let negative = (0..<half).map { _ in rng.nextUnit() * (2 * rng.nextUnit() - 1) }   // |a|·b with a < 0
                    coefficientError[ij] = bestError(positive, target: target[ij]).error + bestError(negative, target: -target[ij]).error
                }
                // sup over ‖x‖∞ ≤ 1 of ‖(W − W̃)x‖∞ ≤ max_i Σ_j |error_ij| (each σ(±x) term contributes its error).
                var sup = 0.0
                for i in 0..<4 {
                    var row = 0.0
                    for j in 0..<4 { row += coefficientError[i * 4 + j] }
                    sup = Swift.max(sup, row)
                }
                meanSup += sup / Double(layers)
            }
            layerErrors.append(meanSup)
            rows.append(["4×4 layer (mean of \(layers))", "\(2 * half) per input", "", String(format: "%.2e", meanSup)])
        }
        let decreasing = zip(layerErrors, layerErrors.dropFirst()).allSatisfy { $1 < $0 }
        return ReproductionReport(
            name: name, claim: claim, columns: ["experiment", "random samples n", "mean best scalar error", "sup ‖f − g‖∞ bound"],
            rows: rows,
            checks: [ReproductionCheck("log2(error) falls linearly in n with slope ≈ −1 (between −1.5 and −0.6)",
                                       held: slope < -0.6 && slope > -1.5, detail: "fitted slope \(Format.number(slope, digits: 3))"),
                     ReproductionCheck("the pruned random block's error on the 4×4 layer falls as the block grows", held: decreasing)],
            notes: ["20 random targets per n; products of two U[−1,1] factors for the layer construction (a·b), as in the lemma's block"])
    }
}

#if canImport(Glibc)
import Glibc
#endif
