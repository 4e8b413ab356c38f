import Foundation

/// METHODS.md §2.6 / §18 item 2: the lottery ticket (IMP with reset to θ₀) beats random
/// re-initialisation of the same mask at ≤ 10 % density, LeNet-300-100 on MNIST.
///
/// Scale (CPU, 1–2 threads): open_lth's LeNet recipe (SGD lr 0.1, batch 128, global 20 %/level,
/// classifier excluded) but `epochs` per level instead of 40, and 10 levels (density 0.8¹⁰ ≈ 10.7 %
/// of the prunable weights). Controls, each trained exactly like the last level: the same mask from a
/// fresh initialisation (`reinit`), and the mask rearranged within each layer from θ₀ (open_lth's
/// `randomly_prune` layer-wise branch).
public enum LotteryVersusReinit: Reproduction {
    public static let name = "lottery-vs-reinit"
    public static let claim = "The lottery ticket (IMP, reset to θ₀) beats random re-initialisation of the same mask at ≤ 10 % density (LeNet-300-100, MNIST)."
    public static let source = "METHODS.md §2.6, §18 item 2"

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let epochs = options.quick ? 1 : 2, levels = options.quick ? 6 : 10
        let train = TrainingConfig(epochs: epochs, batchSize: 128, optimizer: OptimizerConfig(name: "sgd", lr: 0.1))
        var rows: [[String]] = []
        var ticketWins = 0, rearrangedWins = 0
        var finalDensity = 1.0
        for seed in options.seeds {
            let method = #"{"name": "lottery-ticket", "levels": \#(levels), "rewind": "init", "prunable": {"exclude_classifier": true}}"#
            let spec = PipelineSpec(model: ModelSpec(architecture: "lenet300"), dataset: DatasetSpec(name: "mnist", validation: 0.1),
                                    methodJSON: Data(method.utf8), train: train, seed: seed)
            let (dense, ticket, reinit, rearranged, density, curve) = try Engine.withThreads(options.threads) { () throws -> (Double, Double, Double, Double, Double, String) in
                let data = try PreparedData.load(spec.dataset, batchSize: train.batchSize, seed: seed, directory: options.dataDirectory)
                options.log("seed \(seed): IMP, \(levels) levels × \(epochs) epochs")
                let model = try data.makeModel(spec.model, seed: seed)
                let result = try PipelineRunner.run(spec: spec, model: model, data: data) { event in
                    if case let .phaseCompleted(name) = event { options.log("seed \(seed): \(name) done") }
                }
                let denseAccuracy = result.history.last { $0.phase == "level-0" }?.metrics.evaluation?.accuracy ?? .nan
                var curve: [String] = []
                for level in 0...levels {
                    if let acc = result.history.last(where: { $0.phase == "level-\(level)" })?.metrics.evaluation?.accuracy {
                        curve.append("\(Format.percent(Double(1) * pow08(level), digits: 1)): \(Format.percent(acc, digits: 1))")
                    }
                }
                options.log("seed \(seed): controls")
                let reinit = try trainControl(spec: spec, data: data, masks: result.masks, initSeed: seed &+ 0x5EED)
                let rearranged = try trainControl(spec: spec, data: data, masks: RandomMasks.rearranged(result.masks, seed: seed &+ 77),
                                                  initSeed: seed)
                return (denseAccuracy, result.test.accuracy, reinit, rearranged, result.masks.density, curve.joined(separator: ", "))
            }
            finalDensity = density
            if ticket > reinit { ticketWins += 1 }
            if ticket > rearranged { rearrangedWins += 1 }
            rows.append(["\(seed)", Format.percent(density), Format.percent(dense), Format.percent(ticket), Format.percent(reinit),
                          Format.percent(rearranged), curve])
        }
        let majority = options.seeds.count / 2 + 1
        return ReproductionReport(
            name: name, claim: claim,
            columns: ["seed", "density (prunable)", "dense val acc", "ticket test acc", "reinit test acc", "rearranged test acc",
                      "ticket val acc by density"],
            rows: rows,
            checks: [
                ReproductionCheck("ticket > same mask re-initialised, at density ≤ 10.7 %", held: ticketWins >= majority && finalDensity <= 0.11,
                                  detail: "ticket won \(ticketWins) of \(options.seeds.count) seeds at density \(Format.percent(finalDensity))"),
                ReproductionCheck("ticket > mask rearranged per layer (from θ₀)", held: rearrangedWins >= majority,
                                  detail: "ticket won \(rearrangedWins) of \(options.seeds.count) seeds"),
            ],
            notes: ["open_lth LeNet recipe scaled down: SGD lr 0.1 (no momentum), batch 128, \(epochs) epoch(s) per level instead of 40, \(levels) levels of 20 % (global, classifier excluded), reset to θ₀",
                    "controls train as long as one level; density is over the prunable set (the 1,000 classifier weights stay dense)",
                    "the density column of the curve is 0.8^level of the prunable set"])
    }

    static func pow08(_ level: Int) -> Double { (0..<level).reduce(1.0) { r, _ in r * 0.8 } }

    /// Trains `masks` from the initialisation of `initSeed` for one level's schedule; test accuracy.
    static func trainControl(spec: PipelineSpec, data: PreparedData, masks: MaskSet, initSeed: UInt64) throws -> Double {
        let model = try data.makeModel(spec.model, seed: initSeed)
        let context = try PipelineContext(model: model, data: data, spec: spec, prunable: PrunableSet(excludeClassifier: true))
        try masks.apply(to: model)
        try context.phase("train") { try context.train(spec.train) }
        return context.evaluateTest().accuracy
    }
}
