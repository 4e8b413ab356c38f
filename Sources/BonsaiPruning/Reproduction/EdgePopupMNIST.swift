import Foundation

/// METHODS.md §8.6 item 1: a random, frozen network contains a subnetwork (k = 0.5 per layer) found
/// by edge-popup that classifies MNIST far above chance, while the same random network unmasked is
/// at chance. Run on the two zoo families the issue names: LeNet-300-100 and Conv-2 (the
/// lottery-ticket paper's conv net; Conv-4/6 need a side divisible by 8, MNIST's is 28).
///
/// The unmasked random network is the model's own weights at the end of edge-popup's `init` phase
/// (captured then, evaluated with no mask), so it is exactly the network the scores searched.
///
/// **Result (quick: 1 epoch of scores, seeds 1 / 2, release, 1,324 s on a loaded machine).**
/// LeNet-300-100 94.07 / 94.26 % against the unmasked random network's 14.04 / 7.70 %; Conv-2
/// 97.64 / 97.69 % against 14.63 / 10.31 %. Held for both models on both seeds.
public enum EdgePopupMNIST: Reproduction {
    public static let name = "edge-popup-mnist"
    public static let claim = "Edge-popup finds, in a random frozen LeNet-300-100 and a random frozen Conv-2, a subnetwork (k = 0.5) far above chance on MNIST, while the random network itself is at chance."
    public static let source = "METHODS.md §8.6"

    static let architectures = ["lenet300", "conv2"]

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let epochs = options.quick ? 1 : 5
        var rows: [[String]] = []
        var held: [String: Int] = [:]
        for architecture in architectures {
            for seed in options.seeds {
                let (random, subnetwork, density) = try runOne(architecture, seed: seed, epochs: epochs, options: options)
                if subnetwork > 0.8 && random < 0.2 { held[architecture, default: 0] += 1 }
                rows.append([architecture, "\(seed)", Format.percent(random), Format.percent(subnetwork), Format.percent(density)])
            }
        }
        let n = options.seeds.count
        return ReproductionReport(
            name: name, claim: claim, columns: ["model", "seed", "random network (no mask)", "edge-popup subnetwork", "weights kept"],
            rows: rows,
            checks: architectures.map { architecture in
                ReproductionCheck("\(architecture): subnetwork > 80 % and the unmasked random network < 20 % test accuracy",
                                  held: held[architecture, default: 0] == n, detail: "\(held[architecture, default: 0]) of \(n) seeds")
            },
            notes: ["signed Kaiming constant weights, scores trained with SGD lr 0.1 momentum 0.9 wd 1e-4, cosine, batch 128, \(epochs) epoch(s); weights never trained; MNIST 60,000 / 10,000"])
    }

    /// One edge-popup run: the random network's and the subnetwork's test accuracy, and the density.
    static func runOne(_ architecture: String, seed: UInt64, epochs: Int,
                       options: ReproductionOptions) throws -> (random: Double, subnetwork: Double, density: Double) {
        let spec = PipelineSpec(
            model: ModelSpec(architecture: architecture), dataset: DatasetSpec(name: "mnist", validation: 0),
            methodJSON: Data(#"{"name": "edge-popup", "keep": 0.5}"#.utf8),
            train: TrainingConfig(epochs: epochs, batchSize: 128,
                                  optimizer: OptimizerConfig(name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 1e-4),
                                  schedule: .cosine(total: epochs, minimumFactor: 0)), seed: seed)
        let data = try PreparedData.load(spec.dataset, batchSize: 128, seed: seed, directory: options.dataDirectory)
        let model = try data.makeModel(spec.model, seed: seed)
        var random: [String: Tensor] = [:]
        let result = try Engine.withThreads(options.threads) {
            try PipelineRunner.run(spec: spec, model: model, data: data) { event in
                if case let .phaseStarted(name, _) = event { options.log("\(architecture) seed \(seed): \(name)") }
                if case let .phaseCompleted(name) = event, name == "init" {
                    for (path, parameter) in model.namedParameters() { random[path] = parameter.value }
                }
            }
        }
        // The same random network without the mask: a fresh model given the init phase's weights.
        let unmasked = try data.makeModel(spec.model, seed: seed)
        for (path, parameter) in unmasked.namedParameters() {
            guard let value = random[path] else {
                throw PruningError.unsupportedModel(method: EdgePopup.id, detail: "no weights captured for \(path) after the init phase")
            }
            parameter.assign(value)
        }
        let randomAccuracy = Engine.withThreads(options.threads) { Evaluation.run(unmasked, batches: data.test).accuracy }
        return (randomAccuracy, result.test.accuracy, result.masks.density)
    }
}
