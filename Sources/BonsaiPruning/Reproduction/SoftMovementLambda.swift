import Foundation

/// METHODS.md §14.6 item 4: soft movement pruning learns its own sparsity — the realised sparsity
/// (the fraction of `σ(S) ≤ τ_f` after training) rises with the final L1 weight `λ_final`, and at a
/// fixed `λ_final` it is robust to the seed (±1 pt).
///
/// **Settings (fixed before the first run).** `tinybert` at the movement reproduction's size (d = 128,
/// 4 heads, 2 layers, sequence 32) fine-tuned on SST-2 for 3 epochs from its random initialisation
/// (the property is about the L1 on `σ(S)` and the threshold, not about transfer; masked-LM
/// pre-training would add 10 minutes per seed for nothing this claim measures). Soft mode,
/// `τ_f = 0.1`, `λ_final ∈ {25, 100, 400}` (400 is the paper's SQuAD value; 3 and 10 added after the first run, see below), scores initialised 0,
/// score lr 1e-2, weights AdamW lr 1e-3 with linear decay, warm-up 10 % of the steps. Seeds 1–3.
/// Checks: remaining weights fall strictly as λ rises on every seed; at each λ the seeds' remaining
/// fractions span at most 2 pt (±1 pt).
///
/// **First run (λ ∈ {25, 100, 400}, seeds 1–3, 530 s).** Remaining 5.66 / 5.62 / 4.77 % at λ 25,
/// 0.60 / 0.59 / 0.58 % at 100 and 0.50 % at 400 on every seed; both checks held, but λ ≥ 100 sits
/// on the mask's floor (0.5 % + 1 entries per matrix), where monotonicity and seed robustness say
/// nothing about the L1. λ 3 and 10 were then added (nothing removed) to see the unsaturated range.
///
/// **Result (λ ∈ {3, 10, 25, 100, 400}, seeds 1–3, release, 2 threads, 768 s; the shared λ values
/// repeat the first run exactly).** Remaining 69.52 / 69.19 / 66.22 % at λ 3, 26.85 / 26.17 / 23.82 %
/// at 10, 5.66 / 5.62 / 4.77 % at 25, 0.60 / 0.59 / 0.58 % at 100, 0.50 % at 400: the sparsity
/// rises strictly with λ on 3 of 3 seeds (held). Seed robustness holds at λ 25 (span 0.89 pt) and
/// trivially on the floor, but not at λ 3 and 10 (spans 3.31 and 3.03 pt; seed 3 prunes more), so
/// the ±1 pt check does not hold over the whole range. Test accuracy falls from 63.8–65.4 % (λ 3)
/// to 56.1–61.0 % (λ 400).
public enum SoftMovementLambda: Reproduction {
    public static let name = "soft-movement-lambda"
    public static let claim = "Soft movement pruning's realised sparsity rises with λ_final, and at a fixed λ_final it is robust to the seed (±1 pt)."
    public static let source = "METHODS.md §14.6 item 4"

    static let lambdas = [3.0, 10.0, 25.0, 100.0, 400.0]

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let epochs = options.quick ? 1 : 3
        var remaining: [Double: [Double]] = [:]  // λ → per-seed remaining fraction
        var rows: [[String]] = []
        var monotone = 0
        for seed in options.seeds {
            var previous = Double.infinity, falling = true
            for lambda in lambdas {
                options.log("seed \(seed): soft movement, λ_final \(Int(lambda))")
                let (kept, accuracy) = try runOne(lambda: lambda, seed: seed, epochs: epochs, options: options)
                remaining[lambda, default: []].append(kept)
                falling = falling && kept < previous
                previous = kept
                rows.append(["\(seed)", "\(Int(lambda))", Format.percent(kept), Format.percent(accuracy)])
            }
            if falling { monotone += 1 }
        }
        let n = options.seeds.count
        let spreads = lambdas.map { lambda -> Double in
            let values = remaining[lambda] ?? []
            return (values.max() ?? 0) - (values.min() ?? 0)
        }
        let spreadText = zip(lambdas, spreads).map { "λ \(Int($0)): \(Format.number($1 * 100, digits: 2)) pt" }.joined(separator: ", ")
        return ReproductionReport(
            name: name, claim: claim, columns: ["seed", "λ_final", "weights remaining", "test accuracy"], rows: rows,
            checks: [ReproductionCheck("remaining weights fall strictly as λ_final rises", held: monotone == n, detail: "\(monotone) of \(n) seeds"),
                     ReproductionCheck("at each λ_final the seeds' remaining fractions span ≤ 2 pt (±1 pt)",
                                       held: n > 1 && spreads.allSatisfy { $0 <= 0.02 }, detail: spreadText)],
            notes: ["tinybert d = \(MovementVersusMagnitude.dim), 4 heads, 2 layers, sequence \(MovementVersusMagnitude.sequenceLength), SST-2 train → test (1,821), \(epochs) epoch(s) from random initialisation; soft mode, τ_f = 0.1, scores lr 1e-2, AdamW lr 1e-3 with linear decay, warm-up 10 %",
                    "remaining = weights kept in the pruned set (encoder linear layers; embeddings and classifier are not pruned) after the final mask σ(S) > τ_f",
                    "the soft mask keeps at least 0.5 % + 1 entries per matrix (the reference's floor): a λ whose remaining is ≈ 0.5 % shows the floor, not the L1"])
    }

    /// One soft-movement fine-tune: the kept fraction of the pruned set and the test accuracy.
    static func runOne(lambda: Double, seed: UInt64, epochs: Int, options: ReproductionOptions) throws -> (Double, Double) {
        let spec = PipelineSpec(
            model: MovementVersusMagnitude.model,
            dataset: DatasetSpec(name: "sst2", validation: 0, sequenceLength: MovementVersusMagnitude.sequenceLength),
            methodJSON: Data(#"{"name": "movement", "mode": "soft", "threshold": 0.1, "lambda": \#(lambda)}"#.utf8),
            train: TrainingConfig(epochs: epochs, batchSize: 32, optimizer: OptimizerConfig(name: "adamw", lr: 1e-3, weightDecay: 0),
                                  schedule: .linearWarmupDecay(warmup: 0, total: epochs)),
            seed: seed)
        let run = try Engine.withThreads(options.threads) { try PipelineRunner.run(spec: spec, directory: options.dataDirectory) }
        return (run.result.masks.density, run.result.test.accuracy)
    }
}
