import Foundation

/// METHODS.md §1.6 (4): gradual magnitude pruning to 95 % beats one-shot magnitude pruning to 95 %
/// with the same total epochs, on LeNet-300-100 / MNIST.
public enum GMPVersusOneShot: Reproduction {
    public static let name = "gmp-vs-oneshot"
    public static let claim = "GMP to 95 % sparsity beats one-shot magnitude pruning to 95 % with the same total training (LeNet-300-100, MNIST)."
    public static let source = "METHODS.md §1.6"

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let epochs = options.quick ? 2 : 6
        var rows: [[String]] = []
        var gmpWins = 0
        for seed in options.seeds {
            let train = TrainingConfig(epochs: epochs, batchSize: 128,
                                       optimizer: OptimizerConfig(name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 1e-4))
            // One-shot: dense training for half the epochs, prune, fine-tune for the other half.
            let half = PhaseOverrides(epochs: epochs / 2)
            let oneShot = PipelineSpec(model: ModelSpec(architecture: "lenet300"), dataset: DatasetSpec(name: "mnist", validation: 0.1),
                                       methodJSON: Data(#"{"name": "magnitude", "sparsity": 0.95, "scope": "layerwise"}"#.utf8),
                                       train: half.applied(to: train), finetune: half, seed: seed)
            // GMP: one training run of the same total length, pruning from 0 to 95 % over its first 60 %.
            let gmp = PipelineSpec(model: ModelSpec(architecture: "lenet300"), dataset: DatasetSpec(name: "mnist", validation: 0.1),
                                   methodJSON: Data(#"{"name": "gradual-magnitude", "sparsity": 0.95, "frequency": 50}"#.utf8),
                                   train: train, seed: seed)
            let (accOne, accGMP) = try Engine.withThreads(options.threads) { () throws -> (Double, Double) in
                options.log("seed \(seed): one-shot magnitude 95 %")
                let one = try PipelineRunner.run(spec: oneShot, directory: options.dataDirectory).result.test.accuracy
                options.log("seed \(seed): gradual magnitude 95 %")
                let g = try PipelineRunner.run(spec: gmp, directory: options.dataDirectory).result.test.accuracy
                return (one, g)
            }
            if accGMP >= accOne { gmpWins += 1 }
            rows.append(["\(seed)", Format.percent(accOne), Format.percent(accGMP)])
        }
        return ReproductionReport(name: name, claim: claim, columns: ["seed", "one-shot 95 % test acc", "GMP 95 % test acc"],
                                  rows: rows,
                                  checks: [ReproductionCheck("GMP ≥ one-shot at 95 % sparsity with equal total epochs",
                                                             held: gmpWins * 2 > options.seeds.count,
                                                             detail: "GMP won \(gmpWins) of \(options.seeds.count) seeds")],
                                  notes: ["\(epochs) epochs in total, SGD lr 0.05 momentum 0.9, batch 128"])
    }
}
