import Foundation

/// The protocol shared by the greedy-forward-selection comparisons (METHODS.md §6): pretrain a
/// zoo model, run the registered `greedy-forward` method (released defaults) from the pretrained
/// weights, then prune the same pretrained weights by L1 magnitude to exactly the per-layer widths
/// greedy chose, and fine-tune that network for as many steps as greedy trained in all (its
/// intermediate per-layer fine-tunes plus its final fine-tune). Accuracy is compared right after
/// pruning and after the equal fine-tuning. ``GreedyVersusMagnitudeWidth`` (an MLP) and
/// ``GreedyVersusMagnitudeCNN`` (a convolutional net, the setting of the paper) are two settings.
enum GreedyMagnitudeComparison {
    /// Model, data and schedules of one comparison.
    struct Setting {
        var architecture: String
        var dataset: String
        /// How the table's notes name the model and data.
        var label: String
        /// (pretrain, final fine-tune) epochs with `--quick` and without it.
        var quickEpochs: (Int, Int), fullEpochs: (Int, Int)
        var pretrainLR: Double, finetuneLR: Double
    }

    static func run(_ setting: Setting, name: String, claim: String, options: ReproductionOptions) throws -> ReproductionReport {
        let (pretrainEpochs, finetuneEpochs) = options.quick ? setting.quickEpochs : setting.fullEpochs
        let model = ModelSpec(architecture: setting.architecture)
        let dataset = DatasetSpec(name: setting.dataset, validation: 0)
        let train = TrainingConfig(epochs: pretrainEpochs, batchSize: 128,
                                   optimizer: OptimizerConfig(name: "sgd", lr: setting.pretrainLR, momentum: 0.9))
        let tune = PhaseOverrides(epochs: finetuneEpochs, optimizer: OptimizerConfig(name: "sgd", lr: setting.finetuneLR, momentum: 0.9))
        let method = #"{"name": "greedy-forward", "pretrain": false}"#
        var rows: [[String]] = []
        var after = 0, before = 0
        for seed in options.seeds {
            try Engine.withThreads(options.threads) {
                let data = try PreparedData.load(dataset, batchSize: 128, seed: seed, directory: options.dataDirectory)
                let spec = PipelineSpec(model: model, dataset: dataset, methodJSON: Data(method.utf8), train: train, finetune: tune, seed: seed)
                let pretrained = try data.makeModel(model, seed: seed)
                let base = try PipelineContext(model: pretrained, data: data, spec: spec)
                options.log("seed \(seed): pretraining \(setting.architecture), \(pretrainEpochs) epoch(s)")
                try base.phase("pretrain") { try base.train(train) }
                let dense = base.evaluateTest().accuracy
                let state = pretrained.captureState()

                // Greedy arm: the registered method from the pretrained weights.
                options.log("seed \(seed): greedy forward selection")
                let greedyModel = try data.makeModel(model, seed: seed)
                try greedyModel.loadStateDict(state)
                var greedySelected = 0.0
                var trainedSteps = 0
                let greedy = try PipelineRunner.run(spec: spec, model: greedyModel, data: data) { event in
                    switch event {
                    case let .phaseStarted(name, planned):
                        if name == "finetune" { greedySelected = Evaluation.run(greedyModel, batches: data.test).accuracy }
                        trainedSteps += planned
                    case let .message(text) where text.hasPrefix("greedy"): options.log("  " + text)
                    default: break
                    }
                }
                let groups = try ChannelDependencies.groups(of: greedyModel)
                let widths = ChannelMasks.current(in: greedyModel, groups: groups)

                // Magnitude arm: the same per-layer widths by L1 row norm, same total fine-tuning steps.
                options.log("seed \(seed): L1 magnitude channels at widths " + groups.map { "\(widths[$0.name]!.kept.count)" }.joined(separator: "/"))
                let magnitudeModel = try data.makeModel(model, seed: seed)
                try magnitudeModel.loadStateDict(state)
                let context = try PipelineContext(model: magnitudeModel, data: data, spec: spec)
                var magnitudePruned = 0.0
                try context.phase("prune") {
                    let scores = ChannelScores.filterL1(magnitudeModel, groups: groups)
                    var masks: [ChannelMask] = []
                    for (g, group) in groups.enumerated() {
                        let target = group.channels - widths[group.name]!.kept.count
                        masks += ChannelSelection.prune([group], [scores[g]], target: target, current: ChannelMaskSet()).masks.values
                    }
                    magnitudePruned = try context.pruneChannels(ChannelMaskSet(masks), groups: groups, event: "L1 channels").accuracyAfter
                }
                var magnitudeTune = spec.finetuneConfig
                magnitudeTune.epochs = nil
                magnitudeTune.steps = trainedSteps
                try context.phase("finetune") { try context.train(magnitudeTune) }
                let magnitudeFinal = context.evaluateTest().accuracy
                if greedy.test.accuracy >= magnitudeFinal { after += 1 }
                if greedySelected >= magnitudePruned { before += 1 }
                rows.append(["\(seed)", Format.percent(dense),
                             groups.map { "\(widths[$0.name]!.kept.count)/\($0.channels)" }.joined(separator: ", "),
                             Format.percent(greedySelected), Format.percent(magnitudePruned),
                             Format.percent(greedy.test.accuracy), Format.percent(magnitudeFinal), "\(trainedSteps)"])
            }
        }
        let n = options.seeds.count
        return ReproductionReport(
            name: name, claim: claim,
            columns: ["seed", "dense acc.", "widths kept (greedy = magnitude)", "greedy acc. before final FT", "magnitude acc. pruned",
                      "greedy acc. fine-tuned", "magnitude acc. fine-tuned", "fine-tune steps each"],
            rows: rows,
            checks: [ReproductionCheck("greedy ≥ magnitude after equal fine-tuning", held: after * 2 > n, detail: "\(after) of \(n) seeds"),
                     ReproductionCheck("greedy (with its intermediate fine-tunes) ≥ magnitude right after pruning", held: before * 2 > n,
                                       detail: "\(before) of \(n) seeds")],
            notes: ["\(setting.label), pretrain \(pretrainEpochs) epoch(s) SGD lr \(setting.pretrainLR) momentum 0.9 batch 128",
                    "greedy: released defaults (50 candidates, tolerance 0.02, skip_converge 0.05, D/n rescale), eval-train subset 1024 strided training images, intermediate fine-tune 0.1 epoch SGD lr 2.5e-3",
                    "final fine-tune \(finetuneEpochs) epoch(s) SGD lr \(setting.finetuneLR) momentum 0.9; magnitude gets greedy's intermediate + final step count in one run",
                    "the 'before' comparison is not like for like: greedy's number already includes its intermediate fine-tunes"])
    }
}
