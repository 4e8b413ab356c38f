import Foundation

/// METHODS.md §8.6 item 1: a random, frozen LeNet-300-100 contains a subnetwork (k = 0.5 per layer)
/// found by edge-popup that classifies MNIST far above chance, while the same random network
/// unmasked is at chance.
public enum EdgePopupMNIST: Reproduction {
    public static let name = "edge-popup-mnist"
    public static let claim = "Edge-popup finds, in a random frozen LeNet-300-100, a subnetwork (k = 0.5) far above chance on MNIST, while the random network itself is at chance."
    public static let source = "METHODS.md §8.6"

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let epochs = options.quick ? 1 : 5
        var rows: [[String]] = []
        var held = true
        for seed in options.seeds {
            let spec = PipelineSpec(
                model: ModelSpec(architecture: "lenet300"), dataset: DatasetSpec(name: "mnist", validation: 0),
                methodJSON: Data(#"{"name": "edge-popup", "keep": 0.5}"#.utf8),
                train: TrainingConfig(epochs: epochs, batchSize: 128,
                                      optimizer: OptimizerConfig(name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 1e-4),
                                      schedule: .cosine(total: epochs, minimumFactor: 0)), seed: seed)
            var randomAccuracy = 0.0
            let result = try Engine.withThreads(options.threads) {
                try PipelineRunner.run(spec: spec, directory: options.dataDirectory) { event in
                    if case let .phaseStarted(name, _) = event { options.log("seed \(seed): \(name)") }
                }
            }
            // The same random network without the mask: rebuild it through the init phase only.
            let data = result.data
            let model = try data.makeModel(spec.model, seed: seed)
            let context = try PipelineContext(model: model, data: data, spec: spec)
            var rng = RandomGenerator(seed: seed ^ 0xED6E)
            let method = EdgePopup(settings: try EdgePopup.decode(settings: spec.methodJSON).settings)
            for (path, parameter) in model.namedParameters() {
                if context.prunablePaths.contains(path) {
                    parameter.assign(method.randomWeights(parameter.shape, rng: &rng))
                    _ = Initializer.kaimingUniform(parameter.shape, using: &rng)
                } else {
                    parameter.assign(parameter.role == .normWeight ? .ones(parameter.shape) : .zeros(parameter.shape))
                }
            }
            randomAccuracy = context.evaluateTest().accuracy
            let accuracy = result.result.test.accuracy
            held = held && accuracy > 0.8 && randomAccuracy < 0.2
            rows.append(["\(seed)", Format.percent(randomAccuracy), Format.percent(accuracy), Format.percent(result.result.masks.density)])
        }
        return ReproductionReport(
            name: name, claim: claim, columns: ["seed", "random network (no mask)", "edge-popup subnetwork", "weights kept"],
            rows: rows,
            checks: [ReproductionCheck("subnetwork > 80 % and the unmasked random network < 20 % test accuracy", held: held)],
            notes: ["signed Kaiming constant weights, scores trained with SGD lr 0.1 momentum 0.9 wd 1e-4, cosine, batch 128, \(epochs) epoch(s); weights never trained"])
    }
}
