import Foundation

/// METHODS.md §5.5–5.6 and §18 item 5: stripe-wise pruning (filter skeleton + L1, no fine-tuning)
/// keeps more accuracy than filter pruning at the same FLOPs, and stays close to the dense network
/// ("Pruning Filter in Filter": VGG-16 on CIFAR-10, −71 % FLOPs with +0.4 pt accuracy, ahead of L1
/// filter pruning and the other filter-level methods of its table).
///
/// Setup: VGG-11-BN at width 0.25 on the 1000-image CIFAR-10 subset, SGD (momentum 0.9, weight
/// decay 5e-4, cosine from lr 0.05), batch 64, `E` epochs (10 quick, 30 full), the same seed for
/// every arm.
///
/// **The δ attempts (the paper's rule; kept as a record).** The paper prunes the stripes whose
/// skeleton falls below δ = 0.01 after training with `α·Σ‖I‖₁`. α is scaled from the paper's 1e-5
/// because the run is ~250× shorter (≈ 160 steps quick instead of 125 k): the L1 term alone moves
/// a skeleton entry by `α·Σ_t lr_t/(1−μ)` — ≈ 0.6 in the paper's VGG-16 run (lr 0.1 stepped at
/// 50 %/75 % of 160 epochs × 782 steps).
/// 1. That drift (α = 1.5e-2 quick): **no** stripe died (0 of 6192; the skeletons only fell to
///    ≈ 0.4, far above δ), SWP 43.5 % vs dense 46.1 %.
/// 2. Drift ≈ 2 (α = 5.1e-2 quick), once: every stripe died (0 of 6192 left, 8.9 % accuracy).
///    With batch norm after every conv the loss is invariant to a filter's scale, so nothing
///    resists the L1 pull on a filter's skeleton as a whole: its entries fall together at about
///    `α·lr/(1−μ)` and cross δ together, unless training is long enough for the cross-entropy
///    gradient (∝ 1/scale) to separate the stripes. A drift between the two was not tried (it would
///    be tuning to a knife edge).
/// 3. A hand probe with the paper's own optimizer (SGD lr 0.1, wd 1e-4, steps at 50/75 %) for
///    3,200 steps on VGG-11-BN×0.125, α = 4e-4 (drift ≈ 0.66): the skeletons sat at 0.41–0.56
///    (p10–p90) at step 1,088; at the end 7 of 3,096 stripes had died (44.6 %). The separation the
///    paper relies on did not appear in 40× fewer steps.
/// Every run of this reproduction re-measures attempt 1 (the `δ only` row: the same training as
/// the budget arms, before the budget is applied) and checks it against the paper's expectation.
///
/// **The budget arms (a documented deviation from δ).** Because δ cannot select a usable net at
/// this run length, SWP trains with the skeleton at the paper's drift (≈ 0.6, attempt 1's α) and
/// the prune step keeps an **exact stripe budget** (`stripe_sparsity` 50 % and 70 %, global over
/// layers) ranked by the learned `|I|` — the method's setting ``StripeWisePruning/exactStripes``,
/// i.e. the δ that would have removed that share had the skeletons separated. The budget is chosen
/// in advance, not tuned. Per budget:
/// * **SWP, no FT** (the paper's protocol) and **SWP + FT** (the same `F` fine-tune epochs as
///   filter L1; the fair variant, reported separately) — one pipeline, accuracy read right after
///   the prune step and after fine-tuning;
/// * **filter L1** (Li et al. 2017, layer-wise): `E` dense epochs (also the dense baseline), then
///   the per-layer ratio whose MACs are closest to SWP's (bisection, MACs by ``FlopCounter`` from
///   the masks, so all arms count the same way), then `F` fine-tune epochs;
/// * **stripe-L1 control**: filter L1's dense network (no skeleton, no L1), the same number of
///   stripes kept *in each layer* as SWP kept, ranked within the layer by the stripe's weight norm
///   `Σ_c |W[n,c,i,j]|`; filters left without a stripe are removed as channels as in SWP. No FT and
///   + FT. It isolates the ranking: if SWP beats it, the skeleton learned which stripes matter.
///   (Per-layer counts, not a global weight ranking: with BN the weight scale of each layer is
///   arbitrary, so a global weight ranking would compare incomparable numbers.)
///
/// **Result (quick, release, seeds 1 and 2, 567 s at 1 thread; seed 1 reproduced bit-for-bit).**
/// At drift ≈ 0.6 no stripe crosses δ (0 of 6192, both seeds) and the skeletons do not separate:
/// `|I|` p10/p50/p90 = 0.384/0.387/0.390, so the budget ranks stripes by a 1.5 % spread —
/// essentially noise. Removing 50 % or 70 % of the stripes without fine-tuning drops SWP to chance
/// (10.3 / 10.0 %; the removed stripes weigh as much as the kept ones, and no BN statistics are
/// re-estimated), far below filter L1 fine-tuned at matched MACs (50 %: 42.3 / 41.4 %; 70 %: 42.7 /
/// 41.3 %), so the paper's claim does not hold here. With the same fine-tuning SWP edges filter L1
/// at 50 % (42.6 / 41.5 %) and splits at 70 % (43.3 / 38.6 %) — but the stripe-L1 control (no
/// skeleton, same per-layer counts) fine-tuned is better than SWP in all four cases (50 %: 45.8 /
/// 45.0 %; 70 %: 44.9 / 42.9 %): the skeleton learned nothing useful for ranking at this run
/// length; what helps is the stripe granularity itself. Dense: 46.4 / 44.3 %.
///
/// **BN statistics re-estimated (added afterwards; quick, seed 1, 2 threads, 133 s).** One
/// train-mode pass over the training set, no weight update, on a copy of each pruned network
/// (the + FT rows are unaffected). SWP without fine-tuning: 12.8 → 23.1 % at 50 % of the stripes,
/// 10.3 → 13.3 % at 70 %; the stripe-L1 control: 10.9 → 26.6 %, 10.3 → 14.6 %; filter L1
/// fine-tuned: 46.3 / 44.3 %. Stale statistics explain part of the collapse, not most of it, and
/// the claim still does not hold. (At 2 threads the numbers differ from the 1-thread run above:
/// the k-split GEMM of the weight gradients rounds differently per thread count.)
///
/// **The long, faithful mode is ``SWPLong`` (`swp-long`).** The paper's protocol (δ during
/// training, no budget, no fine-tuning, BN γ = 0.5) on Fashion-MNIST for 4,000 steps, three
/// settings fixed in advance (seed 1): at the paper's L1 drift and wd 1e-4 the skeletons still do
/// not separate (12 of 3,096 stripes die, −0.9 % MACs); at drift ×4 every stripe dies; with the
/// weight decay's integrated pull also matched to the paper's (wd 3.1e-3) SWP keeps 288 stripes
/// (−92.8 % MACs) at 88.6 % without fine-tuning, above filter L1 + FT at the same MACs (86.9 %)
/// and 1.0 pt below its dense net (89.6 %). See ``SWPLong`` for the details and caveats.
public enum SWPVersusFilterL1: Reproduction {
    public static let name = "swp-vs-filter-l1"
    public static let claim = "At equal FLOPs, stripe-wise pruning (no fine-tuning) is more accurate than L1 filter pruning (fine-tuned), and close to the dense network."
    public static let source = "METHODS.md §5.5, §5.6 (4), §18 item 5"

    struct Arm {
        var macs: Int, denseMACs: Int
        var parameters: Int
        var accuracyBefore: Double
        var accuracyPruned: Double
        var accuracyFinal: Double
        /// Right after pruning, with the batch-norm running statistics re-estimated (no training).
        var accuracyRecalibrated: Double? = nil
        var detail: String
        var keptPerLayer: [String: Int] = [:]
        var notes: [String: String] = [:]
    }

    static let input = InputKind.image(channels: 3, height: 32, width: 32)
    static let budgets = [0.5, 0.7]

    /// Per budget, the seeds on which each comparison held.
    struct Tally { var matched = 0, paper = 0, fair = 0, close = 0, rankingNoFT = 0, rankingFT = 0, recalibrated = 0 }

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let epochs = options.quick ? 10 : 30
        let finetune = options.quick ? 3 : 10
        // The paper's total L1 drift α·Σlr/(1−μ) ≈ 0.6 (cosine from 0.05, 16 steps per epoch).
        let alpha = 1.5e-2 * 10 / Double(epochs)
        var rows: [[String]] = []
        var tallies = [Tally](repeating: Tally(), count: budgets.count)
        var deltaKilled = 0
        let train = TrainingConfig(epochs: epochs, batchSize: 64,
                                   optimizer: OptimizerConfig(name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 5e-4),
                                   schedule: .cosine(total: epochs, minimumFactor: 0.01))
        let tune = PhaseOverrides(epochs: finetune, optimizer: OptimizerConfig(name: "sgd", lr: 0.01, momentum: 0.9, weightDecay: 5e-4),
                                  schedule: .cosine(total: finetune, minimumFactor: 0.01))
        for seed in options.seeds {
            for (b, budget) in budgets.enumerated() {
                let swp = try Engine.withThreads(options.threads) {
                    try runSWP(alpha: alpha, budget: budget, train: train, tune: tune, seed: seed, options: options)
                }
                let ratio = try matchingRatio(macs: swp.macs, seed: seed)
                options.log("seed \(seed) budget \(budget): SWP kept \(swp.macs) of \(swp.denseMACs) MACs; filter-L1 layer-wise ratio \(Format.number(ratio))")
                let (l1, dense) = try Engine.withThreads(options.threads) {
                    try runFilterL1(ratio: ratio, train: train, tune: tune, seed: seed, options: options)
                }
                let control = try Engine.withThreads(options.threads) {
                    try runStripeControl(dense: dense, kept: swp.keptPerLayer, train: train, tune: tune, seed: seed, options: options)
                }
                let denseAccuracy = l1.accuracyBefore
                if b == 0 {
                    // The δ rule on the same training (attempt 1 re-measured): what died before the budget.
                    let dead = swp.notes["dead_at_threshold"] ?? "?"
                    let parts = dead.split(separator: " ").compactMap { Int($0) }
                    if parts.count == 2, Double(parts[0]) >= 0.25 * Double(parts[1]) { deltaKilled += 1 }
                    rows.append(["\(seed)", "SWP δ = 0.01 only (α \(Format.number(alpha, digits: 4)), drift ≈ 0.6), no FT", "–", "\(dead) stripes",
                                 "–", Format.percent(denseAccuracy), "–", Format.percent(swp.accuracyBefore),
                                 "|I| p10/p50/p90 \(swp.notes["skeleton_quantiles"] ?? "?")"])
                }
                let gap = Double(Swift.abs(l1.macs - swp.macs)) / Double(swp.macs)
                if gap <= 0.05 { tallies[b].matched += 1 }
                if swp.accuracyPruned >= l1.accuracyFinal { tallies[b].paper += 1 }
                if swp.accuracyFinal >= l1.accuracyFinal { tallies[b].fair += 1 }
                if denseAccuracy - swp.accuracyPruned <= 0.02 { tallies[b].close += 1 }
                if swp.accuracyPruned >= control.accuracyPruned { tallies[b].rankingNoFT += 1 }
                if swp.accuracyFinal >= control.accuracyFinal { tallies[b].rankingFT += 1 }
                if let recalibrated = swp.accuracyRecalibrated, recalibrated >= l1.accuracyFinal { tallies[b].recalibrated += 1 }
                let tag = "\(Int(budget * 100)) % stripes"
                let arms: [(String, Arm, Bool)] = [
                    ("SWP budget \(tag) by |I|, no FT (paper protocol)", swp, false),
                    ("SWP budget \(tag) by |I|, + FT \(finetune) ep.", swp, true),
                    ("stripe-L1 control \(tag) (dense W, SWP's per-layer counts), no FT", control, false),
                    ("stripe-L1 control \(tag), + FT \(finetune) ep.", control, true),
                    ("filter L1 (ratio \(Format.number(ratio, digits: 3))), + FT \(finetune) ep.", l1, true),
                ]
                for (label, arm, tuned) in arms {
                    rows.append(["\(seed)", label, Format.number(Double(arm.macs) / 1e6, digits: 2),
                                 Format.percent(1 - Double(arm.macs) / Double(arm.denseMACs)), "\(arm.parameters)",
                                 Format.percent(denseAccuracy), Format.percent(arm.accuracyPruned),
                                 Format.percent(tuned ? arm.accuracyFinal : arm.accuracyPruned), arm.detail])
                    if !tuned, let recalibrated = arm.accuracyRecalibrated {
                        rows.append(["\(seed)", label + ", BN statistics re-estimated", Format.number(Double(arm.macs) / 1e6, digits: 2),
                                     Format.percent(1 - Double(arm.macs) / Double(arm.denseMACs)), "\(arm.parameters)",
                                     Format.percent(denseAccuracy), Format.percent(recalibrated), Format.percent(recalibrated),
                                     "one train-mode pass, no weight update"])
                    }
                }
            }
        }
        let n = options.seeds.count
        var checks = [ReproductionCheck("δ = 0.01 at the paper's L1 drift (≈ 0.6) removes ≥ 25 % of the stripes (the paper's rule)",
                                        held: deltaKilled * 2 > n, detail: "\(deltaKilled) of \(n) seeds")]
        for (b, budget) in budgets.enumerated() {
            let t = tallies[b], at = "at \(Int(budget * 100)) % stripes removed"
            checks += [
                ReproductionCheck("\(at): filter L1's MACs within 5 % of SWP's", held: t.matched * 2 > n, detail: "\(t.matched) of \(n) seeds"),
                ReproductionCheck("\(at): SWP (no FT) ≥ filter L1 (FT) — the claim", held: t.paper * 2 > n, detail: "\(t.paper) of \(n) seeds"),
                ReproductionCheck("\(at): SWP (no FT) within 2 pt of dense", held: t.close * 2 > n, detail: "\(t.close) of \(n) seeds"),
                ReproductionCheck("\(at): SWP (FT) ≥ filter L1 (FT) — fair variant", held: t.fair * 2 > n, detail: "\(t.fair) of \(n) seeds"),
                ReproductionCheck("\(at): skeleton ranking ≥ stripe-L1 control, no FT", held: t.rankingNoFT * 2 > n, detail: "\(t.rankingNoFT) of \(n) seeds"),
                ReproductionCheck("\(at): skeleton ranking ≥ stripe-L1 control, + FT", held: t.rankingFT * 2 > n, detail: "\(t.rankingFT) of \(n) seeds"),
                ReproductionCheck("\(at): SWP (no FT, BN statistics re-estimated) ≥ filter L1 (FT) — our addition", held: t.recalibrated * 2 > n,
                                  detail: "\(t.recalibrated) of \(n) seeds"),
            ]
        }
        return ReproductionReport(
            name: name, claim: claim,
            columns: ["seed", "method", "MMACs / image", "MACs removed", "params (non-zero)", "dense acc.", "acc. right after pruning", "final acc.", "detail"],
            rows: rows, checks: checks,
            notes: ["vgg11 (BN) width 0.25, cifar10 subset (1000 train / 1000 test), \(epochs) epochs (cosine, lr 0.05, momentum 0.9, wd 5e-4, batch 64); every fine-tune is \(finetune) epochs at lr 0.01 (cosine)",
                    "α = \(Format.number(alpha, digits: 4)) = the paper's total L1 drift ≈ 0.6 (paper: 1e-5 over ~125 k steps; ours ≈ \(epochs * 16) steps), δ = 0.01",
                    "DEVIATION: the budget arms keep an exact share of stripes ranked by the learned |I| (stripe_sparsity, global over layers) instead of the δ threshold, because δ is all-or-nothing at this run length (see the δ row and the two notes below); the budgets 50 % / 70 % were fixed in advance",
                    "earlier δ attempt (quick, seed 1, α = 0.015): 0 of 6192 stripes removed, SWP 43.5 % vs dense 46.1 %; at α = 0.051 (drift ≈ 2) every stripe died (0 of 6192 left, 8.9 % accuracy)",
                    "hand probe with the paper's optimizer (VGG-11-BN×0.125, 3,200 steps, α = 4e-4): 7 of 3,096 stripes died, 44.6 %",
                    "MACs are the masked model's non-zero weight MACs (FlopCounter), which for SWP equal the stripe-wise execution's GEMM work; 'dense acc.' is filter L1's pretrained network (same seed and schedule, no skeleton); 'final acc.' is after fine-tuning for + FT rows and equals the pruned accuracy otherwise",
                    "BN statistics re-estimated (rows so marked, our addition): one pass over the training set in train mode without gradients or weight updates (SCOP.recalibrateBatchNorm, momentum 0.1), on a copy of the pruned network; the + FT rows fine-tune the network without it"])
    }

    static func spec(_ method: String, train: TrainingConfig, tune: PhaseOverrides, seed: UInt64) -> PipelineSpec {
        PipelineSpec(model: ModelSpec(architecture: "vgg11", options: ArchitectureOptions(width: 0.25)),
                     dataset: DatasetSpec(name: "cifar10", validation: 0), methodJSON: Data(method.utf8),
                     train: train, finetune: tune, seed: seed)
    }

    static func nonzeroParameters(_ model: any Model) -> Int {
        model.parameters.reduce(0) { total, p in total + Engine.withoutGrad { p.effective.doubles.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } } }
    }

    static func filterCounts(_ model: any Model) throws -> (kept: Int, total: Int) {
        let groups = try ChannelDependencies.groups(of: model)
        let counts = ChannelMasks.current(in: model, groups: groups).counts
        return (counts.kept, counts.total)
    }

    /// Skeleton training at `alpha`, the exact stripe budget, then fine-tuning (one pipeline: the
    /// accuracy right after the prune step is the paper's no-FT figure).
    static func runSWP(alpha: Double, budget: Double, train: TrainingConfig, tune: PhaseOverrides, seed: UInt64,
                       options: ReproductionOptions) throws -> Arm {
        let method = #"{"name": "stripe-wise", "penalty": \#(alpha), "threshold": 0.01, "stripe_sparsity": \#(budget), "finetune": true, "bn_gamma_init": 1}"#
        let spec = spec(method, train: train, tune: tune, seed: seed)
        let data = try PreparedData.load(spec.dataset, batchSize: train.batchSize, seed: seed, directory: options.dataDirectory)
        let model = try data.makeModel(spec.model, seed: seed)
        var pruned: (macs: Int, dense: Int, parameters: Int, filters: (kept: Int, total: Int))?
        var prunedState: ModuleState?
        let result = try PipelineRunner.run(spec: spec, model: model, data: data) { event in
            if case let .epoch(phase, metrics) = event, metrics.epoch % 5 == 4 {
                options.log("SWP \(phase) epoch \(metrics.epoch + 1): train loss \(Format.number(metrics.trainLoss)), test acc \(Format.percent(metrics.evaluation?.accuracy ?? 0))")
            }
            if case let .phaseCompleted(name) = event, name == "prune", let flops = FlopCounter.count(model, input: input) {
                pruned = (flops.prunedMACs, flops.denseMACs, nonzeroParameters(model), (try? filterCounts(model)) ?? (0, 0))
                prunedState = model.captureState()
            }
        }
        let events = result.events.filter { $0.phase == "prune" }
        guard let pruned, let first = events.first, let last = events.last else {
            throw PruningError.unsupportedModel(method: StripeWisePruning.id, detail: "no FLOP count or pruning event")
        }
        var kept: [String: Int] = [:], live = 0, stripes = 0
        for path in result.masks.paths where result.masks[path]!.rank == 4 && result.masks[path]!.shape[2] > 1 {
            let keep = FilterSkeleton.stripes(ofWeightMask: result.masks[path]!)
            kept[path] = keep.filter { $0 }.count
            stripes += keep.count
            live += kept[path]!
        }
        let recalibrated = try prunedState.map { try recalibratedAccuracy($0, pruned: last.accuracyAfter, spec: spec, data: data) }
        return Arm(macs: pruned.macs, denseMACs: pruned.dense, parameters: pruned.parameters, accuracyBefore: first.accuracyBefore,
                   accuracyPruned: last.accuracyAfter, accuracyFinal: result.test.accuracy, accuracyRecalibrated: recalibrated,
                   detail: "\(live)/\(stripes) stripes, \(pruned.filters.kept)/\(pruned.filters.total) filters kept",
                   keptPerLayer: kept, notes: result.notes)
    }

    /// Test accuracy of a copy of the pruned network `state` (masked weights are zero in it) after one
    /// train-mode pass over the training set without gradients, which re-estimates the batch-norm
    /// running statistics for the pruned network and changes no weight. Pruning a stripe shifts its
    /// filter's output distribution; with the running statistics of the dense network the next batch
    /// norm mis-normalises it, which alone can drop a network to chance.
    /// `pruned` is the network's own accuracy: the copy must reproduce it before the pass.
    static func recalibratedAccuracy(_ state: ModuleState, pruned: Double, spec: PipelineSpec, data: PreparedData) throws -> Double {
        let copy = try data.makeModel(spec.model, seed: spec.seed)
        try copy.loadStateDict(state)
        let before = Evaluation.run(copy, batches: data.test).accuracy
        guard before == pruned else {
            throw PruningError.unsupportedModel(method: StripeWisePruning.id,
                                                detail: "the copy of the pruned network scores \(before), the network \(pruned)")
        }
        try SCOP.recalibrateBatchNorm(try PipelineContext(model: copy, data: data, spec: spec))
        return Evaluation.run(copy, batches: data.test).accuracy
    }

    /// The layer-wise filter-L1 ratio whose pruned MACs are closest to `macs` (on a fresh `vgg11` of
    /// `width` for `input`: the kept counts, hence the MACs, do not depend on the weights).
    static func matchingRatio(macs target: Int, seed: UInt64, input: InputKind = input, width: Double = 0.25) throws -> Double {
        func macs(_ ratio: Double) throws -> Int {
            var rng = RandomGenerator(seed: seed)
            let model = try ModelZoo.make("vgg11", input: input, classes: 10, options: ArchitectureOptions(width: width), rng: &rng)
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

    /// Filter L1 at `ratio`, with fine-tuning; also returns the dense network's state (captured
    /// when the prune phase starts) for the stripe-L1 control.
    static func runFilterL1(ratio: Double, train: TrainingConfig, tune: PhaseOverrides, seed: UInt64,
                            options: ReproductionOptions) throws -> (Arm, ModuleState) {
        let spec = spec(#"{"name": "filter-l1", "ratio": \#(ratio), "scope": "layerwise"}"#, train: train, tune: tune, seed: seed)
        let data = try PreparedData.load(spec.dataset, batchSize: train.batchSize, seed: seed, directory: options.dataDirectory)
        let model = try data.makeModel(spec.model, seed: seed)
        var dense: ModuleState?
        let result = try PipelineRunner.run(spec: spec, model: model, data: data) { event in
            if case let .epoch(phase, metrics) = event, metrics.epoch % 5 == 4 {
                options.log("filter-L1 \(phase) epoch \(metrics.epoch + 1): test acc \(Format.percent(metrics.evaluation?.accuracy ?? 0))")
            }
            if case let .phaseStarted(name, _) = event, name == "prune" { dense = model.captureState() }
        }
        guard let dense, let flops = FlopCounter.count(model, input: input), let event = result.events.first else {
            throw PruningError.unsupportedModel(method: FilterL1Pruning.id, detail: "no FLOP count, dense state or pruning event")
        }
        let filters = try filterCounts(model)
        return (Arm(macs: flops.prunedMACs, denseMACs: flops.denseMACs, parameters: nonzeroParameters(model),
                    accuracyBefore: event.accuracyBefore, accuracyPruned: event.accuracyAfter, accuracyFinal: result.test.accuracy,
                    detail: "\(filters.kept)/\(filters.total) channels kept"), dense)
    }

    /// The stripe-L1 control: the dense network, `kept[path]` stripes per layer by `Σ_c |W[n,c,i,j]|`,
    /// filters without a stripe removed as channels; evaluated, then fine-tuned.
    static func runStripeControl(dense: ModuleState, kept: [String: Int], train: TrainingConfig, tune: PhaseOverrides, seed: UInt64,
                                 options: ReproductionOptions) throws -> Arm {
        let spec = spec(#"{"name": "filter-l1"}"#, train: train, tune: tune, seed: seed)
        let data = try PreparedData.load(spec.dataset, batchSize: train.batchSize, seed: seed, directory: options.dataDirectory)
        let model = try data.makeModel(spec.model, seed: seed)
        try model.loadStateDict(dense)
        let before = Evaluation.run(model, batches: data.test).accuracy
        var masks: [String: Tensor] = [:], skeletons: [FilterSkeleton] = [], keeps: [[Bool]] = []
        var live = 0, stripes = 0
        for (path, count) in kept.sorted(by: { $0.key < $1.key }) {
            guard let weight = model.parameter(at: path) else {
                throw PruningError.unsupportedModel(method: "stripe-l1 control", detail: "no parameter \(path)")
            }
            let s = FilterSkeleton(path: path, weight: weight)
            let w = weight.value.doubles, k2 = s.kernel * s.kernel
            var scores = [Double](repeating: 0, count: s.filters * k2)
            for n in 0..<s.filters { for c in 0..<s.channels { for p in 0..<k2 { scores[n * k2 + p] += Swift.abs(w[(n * s.channels + c) * k2 + p]) } } }
            let keep = TopMask.keepLargest(scores, keep: count).map { $0 != 0 }
            masks[path] = s.weightMask(keep)
            skeletons.append(s); keeps.append(keep)
            live += count; stripes += keep.count
        }
        try MaskSet(masks).apply(to: model)
        let groups = try ChannelDependencies.groups(of: model)
        let channels = StripeWisePruning.channels(groups: groups, skeletons: skeletons, keep: keeps, model: model)
        try ChannelMasks.elementMasks(channels, groups: groups, model: model).apply(to: model)
        guard let flops = FlopCounter.count(model, input: input) else {
            throw PruningError.unsupportedModel(method: "stripe-l1 control", detail: "no FLOP count")
        }
        let pruned = Evaluation.run(model, batches: data.test).accuracy
        let recalibrated = try recalibratedAccuracy(model.captureState(), pruned: pruned, spec: spec, data: data)
        let parameters = nonzeroParameters(model), filters = try filterCounts(model)
        let trainer = try Trainer(model: model, config: spec.finetuneConfig, seed: seed)
        try trainer.run(data: data.loader)
        let final = Evaluation.run(model, batches: data.test).accuracy
        options.log("stripe-L1 control: \(live)/\(stripes) stripes, \(Format.percent(pruned)) → \(Format.percent(final)) after FT")
        return Arm(macs: flops.prunedMACs, denseMACs: flops.denseMACs, parameters: parameters, accuracyBefore: before,
                   accuracyPruned: pruned, accuracyFinal: final, accuracyRecalibrated: recalibrated,
                   detail: "\(live)/\(stripes) stripes, \(filters.kept)/\(filters.total) filters kept")
    }
}
