import Foundation

/// METHODS.md §14.6 item 3 (the paper's transfer claim at small scale): pre-train `tinybert` with
/// masked-language modelling on the shipped text corpora, then fine-tune on SST-2 while pruning the
/// encoder's linear layers with movement or magnitude pruning on the same schedule. Expected: movement
/// beats magnitude at 10 % and 3 % remaining; magnitude is at least as good at 50 %. Every seed given
/// runs its own pre-training and fine-tunes; a check holds on a majority of seeds.
///
/// **Corpus and vocabulary.** Pre-training reads the training parts of all three shipped text sets
/// (``PretrainingCorpus``: SST-2 6,920 + TREC 5,452 + SMS 4,460 = 16,832 sentences) and the word
/// vocabulary is built from that corpus, so SST-2 fine-tuning shares its token ids. Each seed also
/// fine-tunes the same architecture from its random initialisation with no pre-training ("scratch"):
/// the claim's premise is that pre-training transfers, which this row measures.
///
/// **Settings (fixed before the first run of this version).** METHODS §14.6's stand-in size:
/// tinybert d = 128, 4 heads, 2 layers, sequence 32. Masked-LM: 10 epochs of the corpus, AdamW
/// lr 1e-3. Fine-tuning: 3 epochs, AdamW with linear decay at lr 3e-4 — the paper's fine-tune /
/// pre-train ratio (3e-5 against BERT's 1e-4) — and score lr 1e-2; the scratch row uses the
/// from-scratch lr 1e-3, the stronger baseline for the premise check.
///
/// **Result (full, release, seeds 1–3, 2 threads on a shared machine, 3,435 s).** Movement beats
/// magnitude at 10 % on 3 of 3 seeds (66.83 / 63.59 / 64.36 % against 62.38 / 61.50 / 61.72 %) and at
/// 3 % on 3 of 3 (63.76 / 62.27 / 62.71 against 60.30 / 58.10 / 57.77 %) — the paper's claim at
/// these levels holds. At 50 % magnitude is ahead on 1 of 3 seeds only (64.36 / 66.28 / 64.52 against
/// movement 68.09 / 63.37 / 66.34 %), so the low-sparsity half does not. The premise is still
/// missing: masked-LM pre-training learns (loss 6.6 → 4.7, masked-token accuracy 11.5 → 27 % over
/// 10 epochs) but does not transfer — the dense fine-tune of the pre-trained model reaches 66.94 /
/// 67.60 / 66.56 % against 71.44 / 71.17 / 71.17 % from scratch (lr 1e-3).
///
/// **Earlier result (SST-2 sentences only, d = 64, 2 heads, 4 masked-LM epochs, fine-tune lr 1e-3, seeds 1–3, 717 s).** Dense fine-tuned
/// 67.27 / 67.49 / 68.37 %; movement beat magnitude at 3 % on 3 of 3 seeds, at 10 % on 1 of 3, and
/// was ahead at 50 % on 3 of 3. The same tinybert trained from scratch reached 69.03 % (seed 1):
/// 6,920 sentences of masked-LM taught nothing that transferred.
public enum MovementVersusMagnitude: Reproduction {
    public static let name = "movement-vs-magnitude"
    public static let claim = "After masked-LM pre-training, movement pruning beats magnitude pruning at 10 % and 3 % remaining weights when fine-tuning tinybert on SST-2; magnitude is at least as good at 50 %."
    public static let source = "METHODS.md §14.6"

    static let sequenceLength = 32
    static let dim = 128
    static let model = ModelSpec(architecture: "tinybert", options: ArchitectureOptions(dim: dim, heads: 4, layers: 2))
    /// Fine-tuning learning rate of the pre-trained runs: the paper's fine-tune / pre-train ratio
    /// (3e-5 against BERT's 1e-4) applied to our pre-training lr 1e-3.
    static let fineTuneLR = 3e-4
    /// The scratch run's learning rate: the zoo's from-scratch setting, the stronger baseline.
    static let scratchLR = 1e-3

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let (mlmEpochs, epochs) = options.quick ? (1, 1) : (10, 3)
        let levels = [0.5, 0.1, 0.03]
        let corpus = try PretrainingCorpus.shipped(from: options.dataDirectory)
        let vocabulary = try corpus.vocabulary()
        let corpusSet = try corpus.encoded(with: vocabulary, sequenceLength: sequenceLength)
        options.log("corpus: \(corpus.sources.map { "\($0.name) \($0.sentences)" }.joined(separator: ", ")); vocabulary \(vocabulary.count)")
        var rows: [[String]] = [], notes: [String] = []
        var wins: [Double: Int] = [:]  // seeds where the expected ordering held, per level
        var premise = 0                 // seeds where the pre-trained dense fine-tune beat scratch
        for seed in options.seeds {
            let run = try runSeed(seed, corpus: corpusSet, vocabulary: vocabulary, mlmEpochs: mlmEpochs, epochs: epochs,
                                  levels: levels, options: options)
            func acc(_ mode: String, _ r: Double) -> Double { run.accuracy["\(mode)@\(r)"] ?? 0 }
            if acc("dense", 1) > acc("scratch", 1) { premise += 1 }
            rows.append(["\(seed)", "100 % (no pre-training)", "", "", Format.percent(acc("scratch", 1)), ""])
            rows.append(["\(seed)", "100 % (pre-trained)", "", "", Format.percent(acc("dense", 1)), ""])
            for r in levels {
                let held = r == 0.5 ? acc("magnitude", r) >= acc("hard", r) : acc("hard", r) > acc("magnitude", r)
                if held { wins[r, default: 0] += 1 }
                rows.append(["\(seed)", Format.percent(r, digits: 0), Format.percent(acc("magnitude", r)),
                             Format.percent(acc("hard", r)), "", held ? "yes" : "no"])
            }
            notes.append("seed \(seed): masked-LM train loss \(run.mlm.map { Format.number($0.trainLoss) }.joined(separator: " → ")), masked-token accuracy \(run.mlm.map { Format.percent($0.trainAccuracy) }.joined(separator: " → "))")
        }
        let n = options.seeds.count
        func check(_ text: String, _ r: Double) -> ReproductionCheck {
            ReproductionCheck(text, held: wins[r, default: 0] * 2 > n, detail: "\(wins[r, default: 0]) of \(n) seeds")
        }
        let sources = corpus.sources.map { "\($0.name) \($0.sentences)" }.joined(separator: " + ")
        return ReproductionReport(
            name: name, claim: claim, columns: ["seed", "remaining", "magnitude", "movement (hard)", "dense", "expected order"], rows: rows,
            checks: [ReproductionCheck("premise: the pre-trained dense fine-tune beats the same fine-tune from scratch", held: premise * 2 > n,
                                       detail: "\(premise) of \(n) seeds"),
                     check("movement > magnitude at 10 %", 0.1), check("movement > magnitude at 3 %", 0.03),
                     check("magnitude ≥ movement at 50 %", 0.5)],
            notes: ["tinybert dim \(dim), 2 layers, 4 heads, sequence \(sequenceLength); masked-LM \(mlmEpochs) epoch(s) per seed on the shipped corpora's training parts (\(sources) = \(corpus.count) sentences), vocabulary of \(vocabulary.count) built from that corpus; fine-tune \(epochs) epoch(s) on SST-2 train, AdamW lr \(fineTuneLR) (scratch \(scratchLR)), linear decay, scores lr 1e-2, warm-up 10 %; SST-2 test set (1,821)",
                    "dense (pre-trained): the pre-trained weights fine-tuned with the same schedule and no pruning; no pre-training: the same seed's random initialisation fine-tuned the same way",
                    "a check holds when the expected order holds on a majority of seeds"] + notes)
    }

    /// One seed's test accuracies, keyed `mode@remaining` (`scratch@1.0`, `dense@1.0`, `hard@0.1`, …),
    /// and the masked-LM epochs' metrics.
    struct SeedRun { var accuracy: [String: Double] = [:], mlm: [EpochMetrics] = [] }

    /// One seed: masked-LM pre-training on `corpus`, then the scratch and pre-trained dense fine-tunes
    /// and every (mode, level) pruned fine-tune from the same pre-trained weights.
    static func runSeed(_ seed: UInt64, corpus: TextDataset, vocabulary: Vocabulary, mlmEpochs: Int, epochs: Int,
                        levels: [Double], options: ReproductionOptions) throws -> SeedRun {
        let dataset = DatasetSpec(name: "sst2", validation: 0, sequenceLength: sequenceLength)
        func fineTune(lr: Double) -> TrainingConfig {
            TrainingConfig(epochs: epochs, batchSize: 32, optimizer: OptimizerConfig(name: "adamw", lr: lr, weightDecay: 0),
                           schedule: .linearWarmupDecay(warmup: 0, total: epochs))
        }
        let train = fineTune(lr: fineTuneLR)
        let data = try PreparedData.load(dataset, batchSize: 32, seed: seed, directory: options.dataDirectory, vocabulary: vocabulary)
        let methodJSON = Data(#"{"name": "movement", "mlm_epochs": \#(mlmEpochs)}"#.utf8)
        var run = SeedRun()

        // Masked-LM pre-training once; every fine-tuning run but "scratch" starts from these weights.
        options.log("seed \(seed): masked-LM pre-training, \(mlmEpochs) epoch(s) of \(corpus.count) sentences")
        let pretrained = try data.makeModel(model, seed: seed)
        guard let bert = pretrained as? TinyBert else {
            throw PruningError.unsupportedModel(method: MovementPruning.id, detail: "masked-LM pre-training needs tinybert")
        }
        try Engine.withThreads(options.threads) {
            let spec = PipelineSpec(model: model, dataset: dataset, methodJSON: methodJSON,
                                    train: TrainingConfig(epochs: mlmEpochs, batchSize: 32, optimizer: OptimizerConfig(name: "adamw", lr: 1e-3, weightDecay: 0)),
                                    seed: seed)
            let context = try PipelineContext(model: pretrained, data: data, spec: spec)
            var rng = RandomGenerator(seed: seed ^ 0x313)
            let mlm = MaskedLanguageModeling(dim: dim, vocabulary: vocabulary.count, rng: &rng)
            var hooks = TrainingHooks()
            hooks.loss = { batch, forward in mlm.loss(bert, batch: batch, context: forward) }
            let optimizer = try spec.train.optimizer.make(parameters: pretrained.namedParameters() + mlm.head.namedParameters(prefix: "mlm_head."))
            try context.phase("pretrain-mlm") {
                run.mlm = try context.train(spec.train, hooks: hooks, optimizer: optimizer, variant: TrainingVariant(dataset: corpus))
            }
        }
        let state = pretrained.captureState()

        for (key, start) in [("scratch@1.0", nil), ("dense@1.0", state)] as [(String, ModuleState?)] {
            options.log("seed \(seed): dense fine-tune \(start == nil ? "from scratch" : "from the pre-trained weights")")
            let dense = try data.makeModel(model, seed: seed)
            if let start { try dense.loadStateDict(start) }
            let config = fineTune(lr: start == nil ? scratchLR : fineTuneLR)
            try Engine.withThreads(options.threads) {
                let context = try PipelineContext(model: dense, data: data,
                                                  spec: PipelineSpec(model: model, dataset: dataset, methodJSON: methodJSON, train: config, seed: seed))
                try context.phase("finetune-dense") { try context.train(config) }
                run.accuracy[key] = context.evaluateTest().accuracy
            }
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
                run.accuracy["\(mode)@\(remaining)"] = result.test.accuracy
            }
        }
        return run
    }
}
