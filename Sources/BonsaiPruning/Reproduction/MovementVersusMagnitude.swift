import Foundation

/// METHODS.md §14.6 item 3 (the paper's transfer claim at small scale): pre-train `tinybert` with
/// masked-language modelling on SST-2's training sentences, then fine-tune on SST-2 while pruning the
/// encoder's linear layers with movement or magnitude pruning on the same schedule. Expected: movement
/// beats magnitude at 10 % and 3 % remaining; magnitude is at least as good at 50 %. Every seed given
/// runs its own pre-training and fine-tunes; a check holds on a majority of seeds.
///
/// **Result (full, release, seeds 1–3, 1 thread, 717 s).** Dense fine-tuned 67.27 / 67.49 / 68.37 %.
/// Movement beats magnitude at 3 % on 3 of 3 seeds (+0.2 to +1.6 pt), at 10 % on 1 of 3, and is
/// ahead at 50 % on 3 of 3 (the paper expects magnitude there). The paper's premise — a pre-trained
/// model whose weights carry transferable knowledge that movement keeps and magnitude does not — is
/// missing at this scale: the same tinybert trained from scratch on SST-2 for the same 3 epochs
/// (`bonsai train`, seed 1) reaches 69.03 %, above the masked-LM-pre-trained one; 6,920 sentences
/// of masked-LM teach nothing that transfers. Both methods also lose ~5 pt already at 50 %.
public enum MovementVersusMagnitude: Reproduction {
    public static let name = "movement-vs-magnitude"
    public static let claim = "After masked-LM pre-training, movement pruning beats magnitude pruning at 10 % and 3 % remaining weights when fine-tuning tinybert on SST-2; magnitude is at least as good at 50 %."
    public static let source = "METHODS.md §14.6"

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let (mlmEpochs, epochs) = options.quick ? (1, 1) : (4, 3)
        let levels = [0.5, 0.1, 0.03]
        var rows: [[String]] = []
        var wins: [Double: Int] = [:]  // seeds where the expected ordering held, per level
        for seed in options.seeds {
            let accuracy = try runSeed(seed, mlmEpochs: mlmEpochs, epochs: epochs, levels: levels, options: options)
            func acc(_ mode: String, _ r: Double) -> Double { accuracy["\(mode)@\(r)"] ?? 0 }
            rows.append(["\(seed)", "100 % (dense)", Format.percent(acc("dense", 1)), "", ""])
            for r in levels {
                let held = r == 0.5 ? acc("magnitude", r) >= acc("hard", r) : acc("hard", r) > acc("magnitude", r)
                if held { wins[r, default: 0] += 1 }
                rows.append(["\(seed)", Format.percent(r, digits: 0), Format.percent(acc("magnitude", r)),
                             Format.percent(acc("hard", r)), held ? "yes" : "no"])
            }
        }
        let n = options.seeds.count
        func check(_ text: String, _ r: Double) -> ReproductionCheck {
            ReproductionCheck(text, held: wins[r, default: 0] * 2 > n, detail: "\(wins[r, default: 0]) of \(n) seeds")
        }
        return ReproductionReport(
            name: name, claim: claim, columns: ["seed", "remaining", "magnitude", "movement (hard)", "expected order"], rows: rows,
            checks: [check("movement > magnitude at 10 %", 0.1), check("movement > magnitude at 3 %", 0.03),
                     check("magnitude ≥ movement at 50 %", 0.5)],
            notes: ["tinybert dim 64, 2 layers, 2 heads, sequence 32; masked-LM \(mlmEpochs) epoch(s) on SST-2 train sentences per seed; fine-tune \(epochs) epoch(s), AdamW lr 1e-3, scores lr 1e-2, warm-up 10 %; SST-2 test set (1,821)",
                    "dense: the same pre-trained weights fine-tuned with the same schedule and no pruning",
                    "a check holds when the expected order holds on a majority of seeds"])
    }

    /// One seed: masked-LM pre-training, then the dense fine-tune and every (mode, level) pruned
    /// fine-tune from the same pre-trained weights; test accuracies keyed `mode@remaining`.
    static func runSeed(_ seed: UInt64, mlmEpochs: Int, epochs: Int, levels: [Double],
                        options: ReproductionOptions) throws -> [String: Double] {
        let dataset = DatasetSpec(name: "sst2", validation: 0, sequenceLength: 32)
        let model = ModelSpec(architecture: "tinybert", options: ArchitectureOptions(dim: 64, heads: 2, layers: 2))
        let train = TrainingConfig(epochs: epochs, batchSize: 32, optimizer: OptimizerConfig(name: "adamw", lr: 1e-3, weightDecay: 0),
                                   schedule: .linearWarmupDecay(warmup: 0, total: epochs))
        let data = try PreparedData.load(dataset, batchSize: 32, seed: seed, directory: options.dataDirectory)

        // Masked-LM pre-training once; every fine-tuning run starts from these weights.
        options.log("seed \(seed): masked-LM pre-training, \(mlmEpochs) epoch(s)")
        let pretrained = try data.makeModel(model, seed: seed)
        let methodJSON = Data(#"{"name": "movement", "mlm_epochs": \#(mlmEpochs)}"#.utf8)
        try Engine.withThreads(options.threads) {
            let spec = PipelineSpec(model: model, dataset: dataset, methodJSON: methodJSON,
                                    train: TrainingConfig(epochs: mlmEpochs, batchSize: 32, optimizer: OptimizerConfig(name: "adamw", lr: 1e-3, weightDecay: 0)),
                                    seed: seed)
            let context = try PipelineContext(model: pretrained, data: data, spec: spec)
            let bert = pretrained as! TinyBert
            var rng = RandomGenerator(seed: seed ^ 0x313)
            let mlm = MaskedLanguageModeling(dim: 64, vocabulary: bert.tokens.weight.shape[0], rng: &rng)
            var hooks = TrainingHooks()
            hooks.loss = { batch, forward in mlm.loss(bert, batch: batch, context: forward) }
            let optimizer = try spec.train.optimizer.make(parameters: pretrained.namedParameters() + mlm.head.namedParameters(prefix: "mlm_head."))
            try context.phase("pretrain-mlm") { try context.train(spec.train, hooks: hooks, optimizer: optimizer) }
        }
        let state = pretrained.captureState()

        var accuracy: [String: Double] = [:]
        options.log("seed \(seed): dense fine-tune")
        let dense = try data.makeModel(model, seed: seed)
        try dense.loadStateDict(state)
        try Engine.withThreads(options.threads) {
            let context = try PipelineContext(model: dense, data: data,
                                              spec: PipelineSpec(model: model, dataset: dataset, methodJSON: methodJSON, train: train, seed: seed))
            try context.phase("finetune-dense") { try context.train(train) }
            accuracy["dense@1.0"] = context.evaluateTest().accuracy
        }
        for remaining in levels {
            for mode in ["magnitude", "hard"] {
                options.log("seed \(seed): \(mode) at \(Int(remaining * 100)) % remaining")
                let spec = PipelineSpec(model: model, dataset: dataset,
                                        methodJSON: Data(#"{"name": "movement", "mode": "\#(mode)", "remaining": \#(remaining)}"#.utf8),
                                        train: train, seed: seed)
                let network = try data.makeModel(model, seed: seed)
                try network.loadStateDict(state)
                let result = try Engine.withThreads(options.threads) { try PipelineRunner.run(spec: spec, model: network, data: data) }
                accuracy["\(mode)@\(remaining)"] = result.test.accuracy
            }
        }
        return accuracy
    }
}
