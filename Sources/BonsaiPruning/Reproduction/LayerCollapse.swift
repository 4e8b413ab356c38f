import Foundation

/// METHODS.md §4.7 (2) and §18 item 4: at extreme compression, iterative SynFlow keeps every layer
/// non-empty and an input→output path, while single-shot scores at initialisation — magnitude, and
/// often SNIP and GraSP — empty a layer (layer collapse).
///
/// For each model, method and compression `C` (pruning `1 − 1/C` of the prunable weights, global
/// scope) the masks are computed on a freshly initialised network: SNIP, GraSP and SynFlow through
/// their registered methods (``PipelineRunner`` with `train: false`, default settings otherwise),
/// magnitude at init and Gaussian random scores (the Synaptic-Flow `Mag` and `Rand` baselines)
/// with the same exact selector. The table gives the kept weights per layer, the empty layers and
/// the number of reachable outputs (``MaskConnectivity``). Without `--quick`, each LeNet-300-100
/// mask is then trained for a short run from the initial values and its test accuracy reported.
///
/// Models: LeNet-300-100 with PyTorch's default init (Kaiming-uniform a = √5, the zoo's `lenet300`),
/// and — without `--quick` — §1.6's MLP 784-1000-1000-1000-10 with Kaiming-normal weights and zero
/// biases (Synaptic-Flow's `_initialize_weights` for linear layers), masks only.
public enum LayerCollapse: Reproduction {
    public static let name = "layer-collapse"
    public static let claim = "At 1000× compression SynFlow (100 iterations) keeps every layer non-empty and an input→output path; magnitude at init (and often SNIP/GraSP) empties a layer."
    public static let source = "METHODS.md §4.7, §18 item 4"

    struct ModelCase {
        let label: String
        let hidden: [Int]
        let kaimingNormal: Bool
        let train: Bool
    }

    static let methods = ["synflow", "synflow-1", "snip", "grasp", "magnitude", "random"]

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let exponents: [Double] = options.quick ? [1, 2, 3] : [1, 1.5, 2, 2.5, 3]
        var models = [ModelCase(label: "lenet300 (default init)", hidden: [300, 100], kaimingNormal: false, train: !options.quick)]
        if !options.quick {
            models.append(ModelCase(label: "mlp 1000³ (Kaiming-normal)", hidden: [1000, 1000, 1000], kaimingNormal: true, train: false))
        }
        let epochs = 2
        let train = TrainingConfig(epochs: epochs, batchSize: 128,
                                   optimizer: OptimizerConfig(name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 1e-4))
        var rows: [[String]] = []
        var synflowFailures: [String] = [], magnitudeCollapsesAt1000 = 0, magnitudeCases = 0
        var singleShotCollapses: [String: Int] = [:], casesAt1000 = 0
        var synflowAccuracyAt1000: [Double] = []
        for seed in options.seeds {
            let data = try PreparedData.load(DatasetSpec(name: "mnist", validation: 0.1), batchSize: 128, seed: seed,
                                             directory: options.dataDirectory)
            for modelCase in models {
                let spec = ModelSpec(architecture: "lenet300", options: ArchitectureOptions(hidden: modelCase.hidden))
                let layers = (0...modelCase.hidden.count).map { "\(2 * $0 + 1).weight" }
                for x in exponents {
                    let compression = powDouble(10, x)
                    let sparsity = 1 - 1 / compression
                    if x == 3 { casesAt1000 += 1; magnitudeCases += 1 }
                    for method in methods {
                        options.log("seed \(seed) \(modelCase.label) C=10^\(x) \(method)")
                        let model = try makeModel(data, spec, modelCase, seed: seed)
                        let masks = try Engine.withThreads(options.threads) {
                            try self.masks(method, model: model, data: data, spec: spec, sparsity: sparsity, seed: seed, layers: layers)
                        }
                        let kept = MaskConnectivity.keptCounts(masks, layers: layers)
                        let empty = MaskConnectivity.emptyLayers(masks, layers: layers)
                        let reachable = MaskConnectivity.reachableOutputs(masks, layers: layers) ?? 0
                        let collapsed = !empty.isEmpty || reachable == 0
                        var accuracy = "-"
                        if modelCase.train {
                            let acc = try Engine.withThreads(options.threads) { try trainAndTest(model, masks: masks, data: data, config: train, seed: seed) }
                            accuracy = Format.percent(acc)
                            if method == "synflow" && x == 3 { synflowAccuracyAt1000.append(acc) }
                        }
                        if method == "synflow" && collapsed { synflowFailures.append("\(modelCase.label) C=10^\(x) seed \(seed)") }
                        if x == 3 {
                            if method == "magnitude" && collapsed { magnitudeCollapsesAt1000 += 1 }
                            if collapsed { singleShotCollapses[method, default: 0] += 1 }
                        }
                        rows.append(["\(seed)", modelCase.label, method, compressionLabel(x),
                                     kept.map(String.init).joined(separator: "/"),
                                     empty.isEmpty ? "none" : empty.map { $0.replacingOccurrences(of: ".weight", with: "") }.joined(separator: ","),
                                     "\(reachable)", accuracy])
                    }
                }
            }
        }
        var checks = [
            ReproductionCheck("SynFlow (100 iterations) never empties a layer and keeps an input→output path",
                              held: synflowFailures.isEmpty,
                              detail: synflowFailures.isEmpty ? "all \(rows.filter { $0[2] == "synflow" }.count) cases" : "failed: \(synflowFailures.joined(separator: "; "))"),
            ReproductionCheck("magnitude at init collapses at 1000×", held: magnitudeCollapsesAt1000 == magnitudeCases,
                              detail: "\(magnitudeCollapsesAt1000) of \(magnitudeCases) model/seed cases"),
        ]
        let others = ["snip", "grasp", "synflow-1", "random"].map { "\($0) \(singleShotCollapses[$0] ?? 0)/\(casesAt1000)" }
        checks.append(ReproductionCheck("SNIP/GraSP often collapse at 1000× (informational: any collapse of either)",
                                        held: (singleShotCollapses["snip"] ?? 0) + (singleShotCollapses["grasp"] ?? 0) > 0,
                                        detail: "collapsed at 1000×: " + others.joined(separator: ", ")))
        if !synflowAccuracyAt1000.isEmpty {
            let best = synflowAccuracyAt1000.max() ?? 0
            checks.append(ReproductionCheck("SynFlow at 1000× trains above chance (> 11.35 %, the majority class)", held: best > 0.1135 + 0.02,
                                            detail: "test accuracy " + synflowAccuracyAt1000.map { Format.percent($0) }.joined(separator: ", ")))
        }
        return ReproductionReport(
            name: name, claim: claim,
            columns: ["seed", "model", "method", "C", "kept per layer", "empty layers", "reachable outputs", "test acc"],
            rows: rows, checks: checks,
            notes: ["global scope, exact top-k; SNIP on 10×#classes = 100 training examples (one batch), GraSP on 10 per class in two halves with T = 200 and Xavier-normal re-initialised linear layers (reference defaults), SynFlow 100 iterations with the exponential schedule in Float64, synflow-1 = one iteration",
                    "random = Gaussian scores (expected density equal in every layer); magnitude = |w| at init",
                    options.quick ? "quick: LeNet-300-100 only, no training" :
                        "training (LeNet-300-100 only): \(epochs) epochs, SGD lr 0.05 momentum 0.9 weight decay 1e-4, batch 128, from the initial values with masks fixed; test accuracy at the end"])
    }

    static func compressionLabel(_ x: Double) -> String {
        x == x.rounded() ? "\(Int(powDouble(10, x)))×" : "10^\(x)×"
    }

    /// A fresh model for `seed`; Kaiming-normal weights and zero biases when asked.
    static func makeModel(_ data: PreparedData, _ spec: ModelSpec, _ modelCase: ModelCase, seed: UInt64) throws -> any Model {
        let model = try data.makeModel(spec, seed: seed)
        if modelCase.kaimingNormal {
            var rng = RandomGenerator(seed: seed ^ 0x4B41_494D)
            for (_, parameter) in model.namedParameters() {
                switch parameter.role {
                case .linearWeight: parameter.assign(Initializer.kaimingNormal(parameter.shape, using: &rng))
                case .bias: parameter.assign(.zeros(parameter.shape))
                default: break
                }
            }
        }
        return model
    }

    /// The masks of `method` at `sparsity` on `model` (the registered methods leave them applied).
    static func masks(_ method: String, model: any Model, data: PreparedData, spec: ModelSpec, sparsity: Double,
                      seed: UInt64, layers: [String]) throws -> MaskSet {
        switch method {
        case "magnitude":
            return TopK.select(MagnitudeScore.scores(model, paths: layers), sparsity: sparsity, scope: .global, model: model)
        case "random":
            var rng = RandomGenerator(seed: seed ^ 0x52414E44)
            let scores = ScoreSet(layers.map { path in
                (path, (0..<model.parameter(at: path)!.value.count).map { _ in rng.nextNormal() })
            })
            return TopK.select(scores, sparsity: sparsity, scope: .global, model: model)
        default:
            let name = method == "synflow-1" ? "synflow" : method
            var settings: [String: Any] = ["name": name, "sparsity": sparsity, "scope": "global", "train": false]
            if method == "synflow-1" { settings["iterations"] = 1 }
            let json = try JSONSerialization.data(withJSONObject: settings, options: [.sortedKeys])
            let pipeline = PipelineSpec(model: spec, dataset: DatasetSpec(name: "mnist", validation: 0.1), methodJSON: json,
                                        train: TrainingConfig(epochs: 1, batchSize: 128), seed: seed)
            // The pipeline leaves the masks on the model; applying them again to train is a no-op.
            return try PipelineRunner.run(spec: pipeline, model: model, data: data).masks
        }
    }

    /// Trains `model` (its weights at init, masked by `masks`) and returns the test accuracy.
    static func trainAndTest(_ model: any Model, masks: MaskSet, data: PreparedData, config: TrainingConfig, seed: UInt64) throws -> Double {
        try masks.apply(to: model)
        let trainer = try Trainer(model: model, config: config, seed: seed)
        try trainer.run(data: data.loader)
        return Evaluation.run(model, batches: data.test).accuracy
    }
}
