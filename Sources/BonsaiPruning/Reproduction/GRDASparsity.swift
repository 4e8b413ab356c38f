/// METHODS.md §12.6 (3): gRDA on the MNIST MLP 784-300-100-10 (lr 0.05, batch 64, c = 0.005):
/// density falls during training and is lower for larger μ; at μ = 0.51 accuracy stays within about
/// 0.5 point of plain SGD.
public enum GRDASparsity: Reproduction {
    public static let name = "grda-sparsity"
    public static let claim = "gRDA's density falls during training and is lower for larger μ; at μ = 0.51 accuracy stays within ~0.5 pt of SGD (MNIST MLP)."
    public static let source = "METHODS.md §12.6"

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let epochs = options.quick ? 2 : 10
        let seed = options.seeds.first ?? 1
        let data = try PreparedData.load(DatasetSpec(name: "mnist", validation: 0), batchSize: 64, seed: seed,
                                         directory: options.dataDirectory)
        var rows: [[String]] = []
        var results: [(label: String, densities: [Double], accuracy: Double)] = []
        let runs: [(String, OptimizerConfig)] = [("SGD", OptimizerConfig(name: "sgd", lr: 0.05))]
            + [0.51, 0.6, 0.7].map { (mu: Double) in ("gRDA μ=\(mu)", OptimizerConfig(name: "grda", lr: 0.05, c: 0.005, mu: mu)) }
        for (label, optimizer) in runs {
            options.log("\(label): \(epochs) epochs")
            let model = try data.makeModel(ModelSpec(architecture: "lenet300"), seed: seed)
            let trainer = try Trainer(model: model, config: TrainingConfig(epochs: epochs, batchSize: 64, optimizer: optimizer), seed: seed)
            let weights = model.namedParameters().filter { $0.parameter.role.isPrunableByDefault }.map(\.parameter)
            var densities: [Double] = []
            _ = try Engine.withThreads(options.threads) {
                try trainer.run(data: data.loader) { event in
                    if case .epoch = event {
                        let counts = weights.map { p in (p.value.count, p.value.floats.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }) }
                        densities.append(Double(counts.map(\.1).reduce(0, +)) / Double(counts.map(\.0).reduce(0, +)))
                    }
                }
            }
            let accuracy = Evaluation.run(model, batches: data.test).accuracy
            results.append((label, densities, accuracy))
            rows.append([label, densities.map { Format.percent($0, digits: 1) }.joined(separator: " → "), Format.percent(accuracy)])
        }
        let sgd = results[0].accuracy
        let grda = Array(results.dropFirst())
        let finalDensities = grda.map { $0.densities.last ?? 1 }
        let decreasing = grda.allSatisfy { r in zip(r.densities, r.densities.dropFirst()).allSatisfy { $1 <= $0 + 0.01 } && (r.densities.last ?? 1) < 1 }
        let orderedByMu = zip(finalDensities, finalDensities.dropFirst()).allSatisfy { $1 < $0 }
        let close = sgd - grda[0].accuracy <= 0.005
        return ReproductionReport(
            name: name, claim: claim, columns: ["optimizer", "weight density after each epoch", "test accuracy"], rows: rows,
            checks: [
                ReproductionCheck("density falls during training (each gRDA run)", held: decreasing),
                ReproductionCheck("final density is lower for larger μ (0.51 > 0.6 > 0.7)", held: orderedByMu,
                                  detail: finalDensities.map { Format.percent($0, digits: 1) }.joined(separator: ", ")),
                ReproductionCheck("μ = 0.51 within 0.5 pt of SGD", held: close,
                                  detail: "SGD \(Format.percent(sgd)), gRDA \(Format.percent(grda[0].accuracy))"),
            ],
            notes: ["lr 0.05, batch 64, c = 0.005, \(epochs) epochs, seed \(seed); density over conv/linear weights"])
    }
}
