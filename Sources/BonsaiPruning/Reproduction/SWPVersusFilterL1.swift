import Foundation

/// METHODS.md §5.5–5.6 and §18 item 5: stripe-wise pruning (filter skeleton + L1, stripes below δ
/// removed, no fine-tuning) keeps more accuracy than filter pruning at the same FLOPs, and stays
/// close to the dense network ("Pruning Filter in Filter": VGG-16 on CIFAR-10, −71 % FLOPs with
/// +0.4 pt accuracy, ahead of L1 filter pruning and the other filter-level methods of its table).
///
/// Setup: VGG-11-BN at width 0.25 on the 1000-image CIFAR-10 subset, SGD (momentum 0.9, weight
/// decay 5e-4, cosine), batch 64, the same seed for both arms.
/// * **SWP**: `train` with the skeletons for `E` epochs, prune at δ = 0.01, no fine-tuning.
/// * **Filter L1** (Li et al. 2017, layer-wise): the same `E` dense epochs (also the dense baseline),
///   then the per-layer ratio whose MACs are closest to SWP's (bisection on the ratio, MACs counted
///   by ``FlopCounter`` from the masks, so both arms count the same way), then `F` fine-tune epochs —
///   the baseline gets its paper's fine-tuning, SWP does not (the paper's protocol; a handicap for
///   SWP, not for the baseline).
///
/// α is scaled up from the paper's 1e-5 because the run is ~250× shorter (≈ 500 steps instead of
/// 125 k): the L1 term alone moves a skeleton entry by `α·Σ_t lr_t/(1−μ)` over training — ≈ 0.6 in
/// the paper's VGG-16 run (lr 0.1 stepped at 50 %/75 % of 160 epochs × 782 steps). The first run
/// used that same drift (α = 1.5e-2 for the quick 10 epochs): it killed **no** stripe (0 of 6192;
/// the skeletons only fell to ≈ 0.4, far above δ = 0.01 — the paper's much longer run lets the
/// cross-entropy gradient, which grows as a BN-normalised filter's skeleton shrinks, finish the
/// job). The drift was then raised to ≈ 2 (α = 1.7e-2 for 30 epochs, 5.1e-2 for the quick 10),
/// once, to make the method prune at all; the comparison itself is at whatever MACs SWP reaches.
/// Result (quick, seed 1): the whole network collapsed — 0 of 6192 stripes left, 8.9 % accuracy.
/// With batch norm after every conv the loss is invariant to a filter's scale, so nothing resists
/// the L1 pull on a filter's skeleton as a whole: all entries fall at about the rate `α·lr/(1−μ)`
/// and cross δ together, all-or-nothing, unless training is long enough for the cross-entropy
/// gradient (∝ 1/scale) to separate the stripes. At this scale the claim could not be tested; a
/// drift between the two was not tried (it would be tuning to a knife edge). Not tried either, for
/// lack of time: `stripe_sparsity` (an exact stripe budget ranked by the learned skeleton).
/// A third probe (2026-11-29 evening, `bonsai prune` by hand, not part of this reproduction) used
/// the paper's optimizer itself — SGD lr 0.1, momentum 0.9, weight decay 1e-4, lr ×0.1 at 50 % and
/// 75 % — for 3,200 steps (200 epochs of the subset) on VGG-11-BN×0.125 with α = 4e-4 (the same
/// total L1 drift ≈ 0.66 as the paper's): at step 1,088 every skeleton had fallen to 0.41–0.56
/// (p10–p90) in the deep layers, no entry near δ, and at the end 7 of 3,096 stripes had died
/// (44.6 % accuracy). The skeletons shrink together; the separation the paper relies on did not
/// appear in 40× fewer steps.
public enum SWPVersusFilterL1: Reproduction {
    public static let name = "swp-vs-filter-l1"
    public static let claim = "At equal FLOPs, stripe-wise pruning (no fine-tuning) is more accurate than L1 filter pruning (fine-tuned), and close to the dense network."
    public static let source = "METHODS.md §5.5, §5.6 (4), §18 item 5"

    struct Arm {
        var macs: Int, denseMACs: Int
        var parameters: Int
        var accuracyDense: Double?
        var accuracyPruned: Double
        var accuracyFinal: Double
        var detail: String
    }

    static let input = InputKind.image(channels: 3, height: 32, width: 32)

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let epochs = options.quick ? 10 : 30
        let finetune = options.quick ? 3 : 10
        // A total L1 drift α·Σlr/(1−μ) ≈ 2 (see above; ≈ 0.6, the paper's, killed no stripe).
        let alpha = 1.7e-2 * 30 / Double(epochs)
        var rows: [[String]] = []
        var wins = 0, close = 0, matched = 0, substantial = 0
        for seed in options.seeds {
            let train = TrainingConfig(epochs: epochs, batchSize: 64,
                                       optimizer: OptimizerConfig(name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 5e-4),
                                       schedule: .cosine(total: epochs, minimumFactor: 0.01))
            let tune = PhaseOverrides(epochs: finetune, optimizer: OptimizerConfig(name: "sgd", lr: 0.01, momentum: 0.9, weightDecay: 5e-4),
                                      schedule: .cosine(total: finetune, minimumFactor: 0.01))
            let swp = try Engine.withThreads(options.threads) {
                try runSWP(alpha: alpha, train: train, tune: tune, seed: seed, options: options)
            }
            let ratio = try matchingRatio(macs: swp.macs, seed: seed)
            options.log("seed \(seed): SWP kept \(swp.macs) of \(swp.denseMACs) MACs; filter-L1 layer-wise ratio \(Format.number(ratio))")
            let l1 = try Engine.withThreads(options.threads) {
                try runFilterL1(ratio: ratio, train: train, tune: tune, seed: seed, options: options)
            }
            let gap = Double(Swift.abs(l1.macs - swp.macs)) / Double(swp.macs)
            if gap <= 0.05 { matched += 1 }
            if swp.accuracyFinal >= l1.accuracyFinal { wins += 1 }
            if let dense = l1.accuracyDense, dense - swp.accuracyFinal <= 0.02 { close += 1 }
            if Double(swp.macs) <= 0.75 * Double(swp.denseMACs) { substantial += 1 }
            for (label, arm) in [("SWP (α \(Format.number(alpha, digits: 4)), δ 0.01, no FT)", swp), ("filter L1 (ratio \(Format.number(ratio, digits: 3)), FT \(finetune) ep.)", l1)] {
                rows.append(["\(seed)", label, Format.number(Double(arm.macs) / 1e6, digits: 2),
                             Format.percent(1 - Double(arm.macs) / Double(arm.denseMACs)), "\(arm.parameters)",
                             arm.accuracyDense.map { Format.percent($0) } ?? "–", Format.percent(arm.accuracyPruned),
                             Format.percent(arm.accuracyFinal), arm.detail])
            }
        }
        let n = options.seeds.count
        let checks = [
            ReproductionCheck("SWP removes a substantial share of the MACs (≥ 25 %)", held: substantial * 2 > n, detail: "\(substantial) of \(n) seeds"),
            ReproductionCheck("the filter-pruned network's MACs are within 5 % of SWP's", held: matched * 2 > n, detail: "\(matched) of \(n) seeds"),
            ReproductionCheck("at equal MACs SWP (no fine-tuning) is at least as accurate as filter L1 (fine-tuned)",
                              held: wins * 2 > n, detail: "\(wins) of \(n) seeds"),
            ReproductionCheck("SWP is within 2 pt of the dense network trained the same epochs", held: close * 2 > n, detail: "\(close) of \(n) seeds"),
        ]
        return ReproductionReport(
            name: name, claim: claim,
            columns: ["seed", "method", "MMACs / image", "MACs removed", "params (non-zero)", "dense acc.", "acc. right after pruning", "final acc.", "detail"],
            rows: rows, checks: checks,
            notes: ["vgg11 (BN) width 0.25, cifar10 subset (1000 train / 1000 test), \(epochs) epochs (cosine, lr 0.05, momentum 0.9, wd 5e-4, batch 64); filter L1 fine-tunes \(finetune) epochs at lr 0.01",
                    "α = \(Format.number(alpha, digits: 4)) (paper 1e-5 over ~125 k steps; ours ≈ \(epochs * 16) steps), δ = 0.01; MACs are the masked model's non-zero weight MACs (FlopCounter), which for SWP equal the stripe-wise execution's GEMM work",
                    "the dense accuracy is filter L1's pretrained network (same seed, same schedule, no skeleton)",
                    "first attempt (quick, seed 1, α = 0.015 = the paper's total L1 drift): 0 of 6192 stripes removed, SWP 43.5 % vs dense 46.1 %; α raised to a drift of ≈ 2 once, not tuned further",
                    "second attempt (α = 0.051 quick): every stripe died (0 of 6192, 8.9 % accuracy) — all-or-nothing under BN scale invariance at this run length; the claim is untested at this scale"])
    }

    static func spec(_ method: String, train: TrainingConfig, tune: PhaseOverrides, seed: UInt64) -> PipelineSpec {
        PipelineSpec(model: ModelSpec(architecture: "vgg11", options: ArchitectureOptions(width: 0.25)),
                     dataset: DatasetSpec(name: "cifar10", validation: 0), methodJSON: Data(method.utf8),
                     train: train, finetune: tune, seed: seed)
    }

    static func nonzeroParameters(_ model: any Model) -> Int {
        model.parameters.reduce(0) { total, p in total + Engine.withoutGrad { p.effective.doubles.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } } }
    }

    static func runSWP(alpha: Double, train: TrainingConfig, tune: PhaseOverrides, seed: UInt64, options: ReproductionOptions) throws -> Arm {
        let spec = spec(#"{"name": "stripe-wise", "penalty": \#(alpha), "threshold": 0.01}"#, train: train, tune: tune, seed: seed)
        let data = try PreparedData.load(spec.dataset, batchSize: train.batchSize, seed: seed, directory: options.dataDirectory)
        let model = try data.makeModel(spec.model, seed: seed)
        let result = try PipelineRunner.run(spec: spec, model: model, data: data) { event in
            if case let .epoch(phase, metrics) = event, metrics.epoch % 5 == 4 {
                options.log("SWP \(phase) epoch \(metrics.epoch + 1): train loss \(Format.number(metrics.trainLoss)), test acc \(Format.percent(metrics.evaluation?.accuracy ?? 0))")
            }
        }
        guard let flops = FlopCounter.count(model, input: input), let event = result.events.first else {
            throw PruningError.unsupportedModel(method: StripeWisePruning.id, detail: "no FLOP count or pruning event")
        }
        var stripes = 0, live = 0
        for path in result.masks.paths where result.masks[path]!.rank == 4 && result.masks[path]!.shape[2] > 1 {
            let keep = FilterSkeleton.stripes(ofWeightMask: result.masks[path]!)
            stripes += keep.count
            live += keep.filter { $0 }.count
        }
        let groups = try ChannelDependencies.groups(of: model)
        let channels = ChannelMasks.current(in: model, groups: groups).counts
        return Arm(macs: flops.prunedMACs, denseMACs: flops.denseMACs, parameters: nonzeroParameters(model), accuracyDense: nil,
                   accuracyPruned: event.accuracyAfter, accuracyFinal: result.test.accuracy,
                   detail: "\(live)/\(stripes) stripes, \(channels.kept)/\(channels.total) filters kept")
    }

    /// The layer-wise filter-L1 ratio whose pruned MACs are closest to `macs` (on a fresh model: the
    /// kept counts, hence the MACs, do not depend on the weights).
    static func matchingRatio(macs target: Int, seed: UInt64) throws -> Double {
        func macs(_ ratio: Double) throws -> Int {
            var rng = RandomGenerator(seed: seed)
            let model = try ModelZoo.make("vgg11", input: input, classes: 10, options: ArchitectureOptions(width: 0.25), rng: &rng)
            let groups = try ChannelDependencies.groups(of: model)
            let channels = ChannelSelection.select(ChannelScores.filterL1(model, groups: groups), groups: groups, ratio: ratio, scope: .layerwise)
            try ChannelMasks.elementMasks(channels, groups: groups, model: model).apply(to: model)
            return FlopCounter.count(model, input: input)?.prunedMACs ?? 0
        }
        var (low, high) = (0.0, 0.99)
        for _ in 0..<18 {
            let mid = (low + high) / 2
            if try macs(mid) > target { low = mid } else { high = mid }
        }
        return try Swift.abs(macs(low) - target) <= Swift.abs(macs(high) - target) ? low : high
    }

    static func runFilterL1(ratio: Double, train: TrainingConfig, tune: PhaseOverrides, seed: UInt64, options: ReproductionOptions) throws -> Arm {
        let spec = spec(#"{"name": "filter-l1", "ratio": \#(ratio), "scope": "layerwise"}"#, train: train, tune: tune, seed: seed)
        let data = try PreparedData.load(spec.dataset, batchSize: train.batchSize, seed: seed, directory: options.dataDirectory)
        let model = try data.makeModel(spec.model, seed: seed)
        let result = try PipelineRunner.run(spec: spec, model: model, data: data) { event in
            if case let .epoch(phase, metrics) = event, metrics.epoch % 5 == 4 {
                options.log("filter-L1 \(phase) epoch \(metrics.epoch + 1): test acc \(Format.percent(metrics.evaluation?.accuracy ?? 0))")
            }
        }
        guard let flops = FlopCounter.count(model, input: input), let event = result.events.first else {
            throw PruningError.unsupportedModel(method: FilterL1Pruning.id, detail: "no FLOP count or pruning event")
        }
        let groups = try ChannelDependencies.groups(of: model)
        let channels = ChannelMasks.current(in: model, groups: groups).counts
        return Arm(macs: flops.prunedMACs, denseMACs: flops.denseMACs, parameters: nonzeroParameters(model),
                   accuracyDense: event.accuracyBefore, accuracyPruned: event.accuracyAfter, accuracyFinal: result.test.accuracy,
                   detail: "\(channels.kept)/\(channels.total) channels kept")
    }
}
