import Foundation

/// METHODS.md §10.7 items 2–3 and §18 item 10 (SCOP): on a small ResNet-20 pretrained on the
/// CIFAR-10 subset, (a) the knockoff scaling factors β move away from 0.5 and the SCOP score is
/// positively rank-correlated with the loss increase of ablating each channel alone (the control
/// group identifies filters that matter); (b) removing half of every block's inner channels by SCOP
/// and by L1 filter norm — identical per-layer counts, hence identical FLOPs (checked on the
/// compacted networks) — then fine-tuning the same way, SCOP is at least as accurate as L1 (a tie
/// is acceptable at toy scale).
///
/// Both arms start from one pretrained network. SCOP: β phase (``SCOP``, Gaussian model-X
/// knockoffs), code score `|γ|·(2β − 1)`, ⌊0.5·C⌋ per layer, batch-norm recalibration, fine-tune.
/// L1: the registered `filter-l1` method with `pretrain: false` and ratio 0.5 (round(0.5·C) =
/// ⌊0.5·C⌋ for the even widths here). Ablation: channel j's consumer input columns are zeroed
/// (exactly removing it), loss measured on the first 512 test images.
public enum SCOPVersusL1: Reproduction {
    public static let name = "scop-vs-l1"
    public static let claim = "SCOP's knockoff scores rank filters by their ablation cost (rank correlation > 0), and at the same FLOPs SCOP pruning is at least as accurate as L1 filter pruning after fine-tuning."
    public static let source = "METHODS.md §10.7, §18 item 10"

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let (pretrainEpochs, knockoffEpochs, finetuneEpochs) = options.quick ? (8, 2, 3) : (30, 5, 10)
        let width = 8, ratio = 0.5
        let model = ModelSpec(architecture: "resnet20", options: ArchitectureOptions(width: Double(width)))
        let dataset = DatasetSpec(name: "cifar10", validation: 0)
        let train = TrainingConfig(epochs: pretrainEpochs, batchSize: 64,
                                   optimizer: OptimizerConfig(name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 5e-4),
                                   schedule: .cosine(total: pretrainEpochs, minimumFactor: 0.01))
        let tune = PhaseOverrides(epochs: finetuneEpochs, optimizer: OptimizerConfig(name: "sgd", lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4),
                                  schedule: .cosine(total: finetuneEpochs, minimumFactor: 0.01))
        var rows: [[String]] = []
        var moved = 0, correlated = 0, atLeast = 0, equalFlops = 0
        for seed in options.seeds {
            try Engine.withThreads(options.threads) {
                let data = try PreparedData.load(dataset, batchSize: 64, seed: seed, directory: options.dataDirectory)
                let methodJSON = #"{"name": "scop", "ratio": \#(ratio), "pretrain": false, "knockoff_epochs": \#(knockoffEpochs)}"#
                let spec = PipelineSpec(model: model, dataset: dataset, methodJSON: Data(methodJSON.utf8), train: train, finetune: tune, seed: seed)
                let pretrained = try data.makeModel(model, seed: seed)
                let base = try PipelineContext(model: pretrained, data: data, spec: spec)
                options.log("seed \(seed): pretraining resnet20 width \(width), \(pretrainEpochs) epochs")
                try base.phase("pretrain") { try base.train(train) }
                let dense = base.evaluateTest().accuracy
                let state = pretrained.captureState()
                let groups = try ChannelDependencies.groups(of: pretrained)

                // SCOP arm: β phase, control experiment, prune, recalibrate, fine-tune.
                options.log("seed \(seed): SCOP β phase, \(knockoffEpochs) epochs")
                let scopModel = try data.makeModel(model, seed: seed)
                try scopModel.loadStateDict(state)
                let scopContext = try PipelineContext(model: scopModel, data: data, spec: spec)
                let method = try SCOP.decode(settings: Data(methodJSON.utf8))
                let betas = try method.trainScales(scopContext, groups: groups, mixing: KnockoffMixing(model: scopModel, groups: groups))
                let betaLists = groups.map { betas[$0.name]!.doubles }
                let movement = betaLists.flatMap { $0 }.map { Swift.abs($0 - 0.5) }.reduce(0, +) / Double(betaLists.flatMap { $0 }.count)
                let scores = SCOP.scores(scopModel, groups: groups, betas: betaLists, paper: false)
                options.log("seed \(seed): ablating \(groups.reduce(0) { $0 + $1.channels }) channels one at a time")
                let ablation = ablationCosts(scopModel, groups: groups, batches: Array(data.test.prefix(options.quick ? 1 : 2)))
                let rhoSCOP = meanRankCorrelation(scores, ablation)
                let rhoL1 = meanRankCorrelation(ChannelScores.filterL1(scopModel, groups: groups), ablation)
                var scopPruned = 0.0
                try scopContext.phase("prune") {
                    let channels = SCOP.select(scores, groups: groups, ratio: ratio)
                    try scopContext.pruneChannels(channels, groups: groups, event: "scop")
                    try SCOP.recalibrateBatchNorm(scopContext)
                    scopPruned = scopContext.evaluateTest().accuracy
                }
                try scopContext.phase("finetune") { try scopContext.train(spec.finetuneConfig) }
                let scopFinal = scopContext.evaluateTest().accuracy

                // L1 arm: the registered filter-l1 method from the same weights.
                options.log("seed \(seed): filter-l1 arm")
                let l1Model = try data.makeModel(model, seed: seed)
                try l1Model.loadStateDict(state)
                var l1Spec = spec
                l1Spec.methodJSON = Data(#"{"name": "filter-l1", "ratio": \#(ratio), "pretrain": false}"#.utf8)
                let l1 = try PipelineRunner.run(spec: l1Spec, model: l1Model, data: data)
                let l1Pruned = l1.events.first?.accuracyAfter ?? 0

                let scopFlops = try FlopCounter.count(Compaction.compact(scopModel).model, input: data.input)?.denseMACs ?? -1
                let l1Flops = try FlopCounter.count(Compaction.compact(l1Model).model, input: data.input)?.denseMACs ?? -2
                let denseFlops = FlopCounter.count(pretrained, input: data.input)?.denseMACs ?? 0
                if movement > 0.01 { moved += 1 }
                if rhoSCOP > 0 { correlated += 1 }
                if scopFinal >= l1.test.accuracy { atLeast += 1 }
                if scopFlops == l1Flops { equalFlops += 1 }
                rows.append(["\(seed)", Format.percent(dense), Format.number(movement, digits: 3), Format.number(rhoSCOP, digits: 3),
                             Format.number(rhoL1, digits: 3), "\(scopFlops) / \(l1Flops) of \(denseFlops)",
                             Format.percent(scopPruned), Format.percent(l1Pruned), Format.percent(scopFinal), Format.percent(l1.test.accuracy)])
            }
        }
        let n = options.seeds.count
        return ReproductionReport(
            name: name, claim: claim,
            columns: ["seed", "dense acc.", "mean |β − 0.5|", "ρ(SCOP score, ablation)", "ρ(L1 norm, ablation)", "MACs SCOP / L1",
                      "SCOP acc. pruned (BN recal.)", "L1 acc. pruned", "SCOP acc. fine-tuned", "L1 acc. fine-tuned"],
            rows: rows,
            checks: [ReproductionCheck("β moves away from 0.5 (mean |β − 0.5| > 0.01)", held: moved * 2 > n, detail: "\(moved) of \(n) seeds"),
                     ReproductionCheck("SCOP score vs single-channel ablation loss increase: mean per-layer Spearman ρ > 0", held: correlated * 2 > n,
                                       detail: "\(correlated) of \(n) seeds"),
                     ReproductionCheck("equal FLOPs (compacted MACs identical)", held: equalFlops == n, detail: "\(equalFlops) of \(n) seeds"),
                     ReproductionCheck("SCOP ≥ L1 test accuracy after fine-tuning", held: atLeast * 2 > n, detail: "\(atLeast) of \(n) seeds")],
            notes: ["resnet20 width \(width) (inner block channels pruned, 50 % per layer), cifar10 subset 1000 train / 1000 test, pretrain \(pretrainEpochs) epochs SGD lr 0.05 cosine, batch 64",
                    "β: \(knockoffEpochs) epochs Adam lr 4e-3 betas (0.5, 0.9), Gaussian model-X knockoffs (shrinkage 0.2, fitted on the 1000 training images, p = 3072) instead of the reference's GAN",
                    "fine-tune \(finetuneEpochs) epochs, Nesterov SGD lr 0.01 cosine, weight decay 1e-4, both arms",
                    "ablation: loss increase on the first \(options.quick ? 256 : 512) test images when one channel is removed; ρ is averaged over the 9 layers"])
    }

    /// Loss increase when each channel alone is removed (its consumer input columns zeroed).
    static func ablationCosts(_ model: any Model, groups: [ChannelGroup], batches: [LabeledBatch]) -> [[Double]] {
        func loss() -> Double {
            Engine.withoutGrad {
                var total = 0.0, count = 0
                for b in batches {
                    total += crossEntropy(logits: model.forward(b.input, context: .evaluation), labels: b.labels).item * Double(b.count)
                    count += b.count
                }
                return total / Double(Swift.max(count, 1))
            }
        }
        let reference = loss()
        return groups.map { group in
            (0..<group.channels).map { j in
                var scale = [Float](repeating: 1, count: group.channels)
                scale[j] = 0
                return GreedyLayerSelection.withChannelScale(model, group: group, scale: scale) { loss() } - reference
            }
        }
    }

    /// Mean over groups of Spearman's ρ between `a[g]` and `b[g]` (average ranks for ties).
    static func meanRankCorrelation(_ a: [[Double]], _ b: [[Double]]) -> Double {
        let values = zip(a, b).map { spearman($0, $1) }
        return values.reduce(0, +) / Double(Swift.max(values.count, 1))
    }

    static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        func ranks(_ v: [Double]) -> [Double] {
            let order = v.indices.sorted { v[$0] < v[$1] }
            var r = [Double](repeating: 0, count: v.count)
            var i = 0
            while i < order.count {
                var j = i
                while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
                for k in i...j { r[order[k]] = Double(i + j) / 2 }
                i = j + 1
            }
            return r
        }
        let rx = ranks(x), ry = ranks(y), n = Double(x.count)
        let mx = rx.reduce(0, +) / n, my = ry.reduce(0, +) / n
        var c = 0.0, vx = 0.0, vy = 0.0
        for i in rx.indices { c += (rx[i] - mx) * (ry[i] - my); vx += (rx[i] - mx) * (rx[i] - mx); vy += (ry[i] - my) * (ry[i] - my) }
        return vx > 0 && vy > 0 ? c / (vx * vy).squareRoot() : 0
    }
}
