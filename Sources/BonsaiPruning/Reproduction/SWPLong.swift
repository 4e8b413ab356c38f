import Foundation

/// `swp-long`: the second, faithful mode of ``SWPVersusFilterL1`` (METHODS.md §5.2, §5.5, §5.6 (4)):
/// stripe-wise pruning exactly as the paper runs it — trained from scratch with the skeleton, the
/// δ = 0.01 rule killing stripes during training, no stripe budget and no fine-tuning — for long
/// enough, on a data set large enough, that many thousands of steps are real epochs rather than
/// repeats of 900 images. The short CIFAR runs of ``SWPVersusFilterL1`` never separated the
/// skeletons; this one asks whether the paper's own mechanism works when given steps.
///
/// **Setup (fixed before any run).** Fashion-MNIST as shipped (20,000 train / 10,000 test, 28×28
/// grey, no augmentation), `vgg11` (conv, BN, ReLU) at width ``width``, batch 64, `T` steps
/// (``steps``) with the paper's optimizer: SGD lr 0.1, momentum 0.9, weight decay 1e-4 (on the
/// skeletons too: one optimizer), lr ×0.1 at 50 % and 75 % of the steps. SWP: δ = 0.01, batch-norm
/// `γ = 0.5` at the start (the reference's init, ``StripeWisePruning/Settings/bnGammaInit``),
/// pruned by δ after training, no fine-tuning.
///
/// **α.** The L1 term alone moves a skeleton entry by `α·Σ_t lr_t/(1−μ)`. The paper's VGG-16 run
/// (α = 1e-5, 160 epochs × 782 steps = 125,120 steps, the same schedule) gives
/// `1e-5 · 10 · 125,120 · (0.5·0.1 + 0.25·0.01 + 0.25·0.001) ≈ 0.66`; with the same schedule
/// shape the drift is proportional to `α·T`, so the drift-matched α is `1e-5 · 125,120 / T`.
/// Three settings, declared here before the first run and not changed after:
/// * **A, the paper's drift** (≈ 0.66) at weight decay 1e-4 — the main setting;
/// * **B, drift ×4** (α ×4), weight decay 1e-4 — METHODS §5.6 suggests a larger α on small data;
/// * **C, both pulls matched**: α of A, and the weight decay also scaled by `125,120 / T`, so that
///   its integrated pull `wd·Σ lr/(1−μ)` equals the paper's too (≈ 6.6, i.e. an unopposed
///   parameter would shrink by `e^{-6.6}`). Under batch norm nothing but the regularisers and the
///   gradient noise sets a filter's scale; in the paper the weight decay shrinks the skeletons and
///   weights over 125 k steps until the cross-entropy gradient (∝ 1/scale) is as strong as the L1
///   pull, which is where stripes can separate. A short run at wd 1e-4 never gets there. This is a
///   deviation from the paper's wd *value* made to keep its *integrated* effect; its dense and
///   filter-L1 arms use the same scaled weight decay.
///
/// **Comparison arms (per setting).** Filter L1 (``FilterL1Pruning``, layer-wise) on the dense
/// network trained with the same schedule and weight decay (one dense run per weight decay, the
/// zoo's `γ = 1`, no skeleton), at the layer-wise ratio whose MACs are closest to SWP's (the
/// bisection of ``SWPVersusFilterL1/matchingRatio(macs:seed:input:width:)``, MACs by
/// ``FlopCounter`` from the masks), then fine-tuned for `T/4` steps (SGD lr 0.01, cosine, same
/// weight decay; Li et al. fine-tune for a quarter of the training epochs). The dense accuracy is
/// that network before pruning.
///
/// **Caveat fixed by the input size.** On 28×28 inputs VGG-11's four pools leave the last two convs
/// a 1×1 map: 8 of their 9 stripes see only zero padding, get no cross-entropy gradient and die
/// under any L1 pull. They are 1,152 of the 3,096 stripes at width 0.125 but ~5 % of the MACs;
/// `live_per_layer` in the notes separates them from the stripes that had to be *learned* dead.
///
/// **Step count.** Measured first: one SWP step of this net costs ≈ 0.05 s of one core (0.065 s with
/// the per-epoch test evaluation). The brief aimed at 10–30 k steps, but the machine was shared
/// with two full builds and another run, and the run had to fit in ≈ 40 minutes with all three
/// settings (≈ 6.6·T step-equivalents: three SWP runs, two dense runs, three fine-tunes), so
/// `T = 4,000` (12.8 real epochs; 25× the CIFAR quick run, 31× fewer than the paper). Quick mode
/// is `T = 1,000`.
///
/// **Seed 2 (release, 1 thread, 1,186 s)** repeats the pattern: A kills 7 stripes (SWP 89.94 %,
/// dense 89.93 %); B collapses; C keeps 281 of 3,096 stripes (−93.2 % MACs), SWP no FT 87.98 %
/// against filter L1 + FT 86.42 % at the same MACs, dense 89.86 % (1.9 pt below dense).
///
/// **Seed 3 (release, 1 thread, 1,231 s)**: A kills 7 stripes (SWP 90.48 %, dense 89.90 %); B
/// collapses; C keeps 266 of 3,096 stripes (−94.3 % MACs), SWP no FT 87.79 % against filter L1 + FT
/// 67.43 % at the same MACs, dense 90.13 % (2.3 pt below dense).
///
/// **Result (full, seed 1, release, 1 thread, ≈ 20 min).** Filter L1 fine-tuned for 1,000 steps.
/// * **A (paper drift, wd 1e-4): the skeletons do not separate.** |I| p10/p50/p90 went
///   0.82/0.84/0.86 (step 400) → 0.21/0.25/0.34 (2,000) → 0.175/0.217/0.306 (4,000): a wider
///   spread than on CIFAR (0.384–0.390), but nothing near δ; 12 of 3,096 stripes died (−0.9 % MACs),
///   even the 1×1-map stripes survived. SWP 90.15 % vs dense 90.17 %; filter L1 at the same
///   −1 % MACs + FT 90.30 %. The claim is vacuous at −1 % MACs (and SWP is 0.15 pt below).
/// * **B (drift ×4): collapse.** 85 % of the stripes were dead at step 1,000 (p10/p50/p90 of the
///   live ones 0.05/0.17/0.34) and all but 2 skeleton entries by step 2,000; nothing usable is left
///   (10.0 %; filter L1 at −99 % MACs + FT 22.6 %).
/// * **C (L1 drift and weight-decay pull both matched; wd 3.1e-3): the paper's behaviour
///   appears.** Stripes die early (691 live at step 1,000) and then settle (298 → 289 → 288 live at
///   2,000 / 3,000 / 4,000): 288 of 3,096 stripes and 250 of 344 filters kept, −92.8 % MACs (paper
///   VGG-16: −71 %). SWP without fine-tuning 88.60 % vs filter L1 at the same MACs (ratio 0.742,
///   10.0 % right after pruning) + FT 86.93 % — **the claim holds** (+1.7 pt); against C's dense
///   net (89.63 %, same scaled wd) SWP is 1.03 pt lower, just outside METHODS' "~1 pt" (and
///   1.57 pt below A's dense 90.17 %). Of the 2,808 dead stripes ~1,024 are the trivially dead
///   off-centre stripes of the two 1×1-map layers (they keep 35 and 64 of 576); the other six
///   layers keep 189 of 1,944 stripes, so the removal is mostly learned.
///
/// Reading: at a run this short, the paper's α alone is not what makes SWP work; the weight decay
/// integrated over 125 k steps is. Only one seed, one step count, and C changes the weight decay
/// (with its own dense and filter-L1 arms at the same value); a second seed and a longer run at
/// the paper's wd 1e-4 are what remains.
public enum SWPLong: Reproduction {
    public static let name = "swp-long"
    public static let claim = SWPVersusFilterL1.claim + " (Paper protocol: δ rule during a long training, no fine-tuning for SWP.)"
    public static let source = "METHODS.md §5.2, §5.5, §5.6 (4), §18 item 5"

    static let input = InputKind.image(channels: 1, height: 28, width: 28)
    static let width = 0.125
    static let paperSteps = 125_120.0
    /// Training steps: quick is a smoke run of the same protocol.
    static func steps(quick: Bool) -> Int { quick ? 1_000 : 4_000 }

    struct Setting { var label: String; var alphaFactor: Double; var scaledDecay: Bool }
    static let settings = [Setting(label: "A: drift ≈ 0.66 (paper), wd 1e-4", alphaFactor: 1, scaledDecay: false),
                           Setting(label: "B: drift ×4, wd 1e-4", alphaFactor: 4, scaledDecay: false),
                           Setting(label: "C: drift ≈ 0.66, wd drift matched", alphaFactor: 1, scaledDecay: true)]

    struct SWPResult {
        var macs: Int, denseMACs: Int, parameters: Int
        var accuracy: Double, live: Int, stripes: Int, filters: (kept: Int, total: Int)
        var notes: [String: String]
    }

    struct Tally { var separated = 0, macs = 0, matched = 0, claim = 0, close = 0 }

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let total = steps(quick: options.quick), tuneSteps = total / 4
        let scale = paperSteps / Double(total)
        var rows: [[String]] = [], notes: [String] = []
        var tallies = [Tally](repeating: Tally(), count: settings.count)
        for seed in options.seeds {
            var dense: [Bool: (state: ModuleState, accuracy: Double)] = [:]
            for (k, setting) in settings.enumerated() {
                let decay = setting.scaledDecay ? 1e-4 * scale : 1e-4
                let alpha = 1e-5 * scale * setting.alphaFactor
                let train = TrainingConfig(epochs: nil, steps: total, batchSize: 64,
                                           optimizer: OptimizerConfig(name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: decay),
                                           schedule: .multiStep(milestones: [total / 2, 3 * total / 4], gamma: 0.1), schedulePerStep: true)
                let tune = PhaseOverrides(steps: tuneSteps, optimizer: OptimizerConfig(name: "sgd", lr: 0.01, momentum: 0.9, weightDecay: decay),
                                          schedule: .cosine(total: tuneSteps, minimumFactor: 0.01))
                let swp = try Engine.withThreads(options.threads) {
                    try runSWP(alpha: alpha, train: train, tune: tune, seed: seed, options: options)
                }
                options.log("seed \(seed) \(setting.label): SWP \(swp.live)/\(swp.stripes) stripes, \(swp.macs)/\(swp.denseMACs) MACs, acc \(Format.percent(swp.accuracy)); trace \(swp.notes["skeleton_trace"] ?? "?")")
                let ratio = swp.macs < swp.denseMACs
                    ? try SWPVersusFilterL1.matchingRatio(macs: swp.macs, seed: seed, input: input, width: width) : 0
                let (l1, state) = try Engine.withThreads(options.threads) {
                    try runFilterL1(ratio: ratio, dense: dense[setting.scaledDecay]?.state, train: train, tune: tune, seed: seed, options: options)
                }
                if dense[setting.scaledDecay] == nil { dense[setting.scaledDecay] = (state, l1.accuracyBefore) }
                let denseAccuracy = dense[setting.scaledDecay]!.accuracy
                options.log("seed \(seed) \(setting.label): filter L1 ratio \(Format.number(ratio, digits: 3)), \(l1.macs) MACs, \(Format.percent(l1.accuracyPruned)) → \(Format.percent(l1.accuracyFinal)); dense \(Format.percent(denseAccuracy))")

                if swp.live * 4 <= swp.stripes * 3 { tallies[k].separated += 1 }
                if swp.macs * 4 <= swp.denseMACs * 3 { tallies[k].macs += 1 }
                if Double(Swift.abs(l1.macs - swp.macs)) <= 0.05 * Double(swp.macs) { tallies[k].matched += 1 }
                if swp.accuracy >= l1.accuracyFinal { tallies[k].claim += 1 }
                if denseAccuracy - swp.accuracy <= 0.01 { tallies[k].close += 1 }
                let removed = { (arm: Int) in Format.percent(1 - Double(arm) / Double(swp.denseMACs)) }
                rows.append(["\(seed)", "SWP \(setting.label), α \(Format.number(alpha, digits: 6)), no FT", Format.number(Double(swp.macs) / 1e6, digits: 3),
                             removed(swp.macs), "\(swp.parameters)", Format.percent(denseAccuracy), Format.percent(swp.accuracy), Format.percent(swp.accuracy),
                             "\(swp.live)/\(swp.stripes) stripes, \(swp.filters.kept)/\(swp.filters.total) filters; |I| p10/p50/p90 \(swp.notes["skeleton_quantiles"] ?? "–")"])
                rows.append(["\(seed)", "filter L1 (ratio \(Format.number(ratio, digits: 3))), wd \(Format.number(decay, digits: 6)), + FT \(tuneSteps) steps",
                             Format.number(Double(l1.macs) / 1e6, digits: 3), removed(l1.macs), "\(l1.parameters)", Format.percent(denseAccuracy),
                             Format.percent(l1.accuracyPruned), Format.percent(l1.accuracyFinal), l1.detail])
                notes.append("seed \(seed), \(setting.label): skeleton trace — \(swp.notes["skeleton_trace"] ?? "–")")
                notes.append("seed \(seed), \(setting.label): live stripes per layer — \(swp.notes["live_per_layer"] ?? "–")")
            }
        }
        let n = options.seeds.count
        var checks: [ReproductionCheck] = []
        for (k, setting) in settings.enumerated() {
            let t = tallies[k], at = setting.label
            checks += [
                ReproductionCheck("\(at): δ = 0.01 kills ≥ 25 % of the stripes during training (the skeletons separate)",
                                  held: t.separated * 2 > n, detail: "\(t.separated) of \(n) seeds"),
                ReproductionCheck("\(at): SWP removes ≥ 25 % of the MACs", held: t.macs * 2 > n, detail: "\(t.macs) of \(n) seeds"),
                ReproductionCheck("\(at): filter L1's MACs within 5 % of SWP's", held: t.matched * 2 > n, detail: "\(t.matched) of \(n) seeds"),
                ReproductionCheck("\(at): SWP (no FT) ≥ filter L1 (FT) at equal MACs — the claim", held: t.claim * 2 > n, detail: "\(t.claim) of \(n) seeds"),
                ReproductionCheck("\(at): SWP (no FT) within 1 pt of dense (METHODS §5.6 (4))", held: t.close * 2 > n, detail: "\(t.close) of \(n) seeds"),
            ]
        }
        return ReproductionReport(
            name: name, claim: claim,
            columns: ["seed", "method", "MMACs / image", "MACs removed", "params (non-zero)", "dense acc.", "acc. right after pruning", "final acc.", "detail"],
            rows: rows, checks: checks,
            notes: ["vgg11 (BN) width \(width), fashion-mnist (20,000 train / 10,000 test), \(total) steps at batch 64 (\(Format.number(Double(total * 64) / 20_000, digits: 1)) epochs), SGD lr 0.1 ×0.1 at 50/75 %, momentum 0.9; SWP: δ = 0.01, BN γ init 0.5, no FT; filter L1: dense net (γ = 1) of the same schedule, layer-wise L1, + \(tuneSteps) FT steps at lr 0.01 (cosine)",
                    "α = 1e-5 · 125,120 / T (the paper's L1 drift ≈ 0.66) × the setting's factor; setting C also scales the weight decay by 125,120 / T; A, B, C were fixed before the first run",
                    "MACs are the masked model's non-zero weight MACs (FlopCounter); for SWP they equal the stripe-wise execution's GEMM work"] + notes)
    }

    static func spec(_ method: String, train: TrainingConfig, tune: PhaseOverrides, seed: UInt64) -> PipelineSpec {
        PipelineSpec(model: ModelSpec(architecture: "vgg11", options: ArchitectureOptions(width: width)),
                     dataset: DatasetSpec(name: "fashion-mnist", validation: 0), methodJSON: Data(method.utf8),
                     train: train, finetune: tune, seed: seed)
    }

    /// SWP with the paper's rule: skeleton + L1 + δ during training, pruned by δ, no fine-tuning.
    static func runSWP(alpha: Double, train: TrainingConfig, tune: PhaseOverrides, seed: UInt64,
                       options: ReproductionOptions) throws -> SWPResult {
        let method = #"{"name": "stripe-wise", "penalty": \#(alpha), "threshold": 0.01, "bn_gamma_init": 0.5}"#
        let spec = spec(method, train: train, tune: tune, seed: seed)
        let data = try PreparedData.load(spec.dataset, batchSize: train.batchSize, seed: seed, directory: options.dataDirectory)
        let model = try data.makeModel(spec.model, seed: seed)
        let clock = ContinuousClock(), started = clock.now
        let result = try PipelineRunner.run(spec: spec, model: model, data: data) { event in
            if case let .epoch(phase, metrics) = event, metrics.epoch % 5 == 4 {
                options.log("SWP \(phase) epoch \(metrics.epoch + 1) (step \(metrics.step), \(Int((clock.now - started).components.seconds)) s): train loss \(Format.number(metrics.trainLoss)), test acc \(Format.percent(metrics.evaluation?.accuracy ?? 0))")
            }
        }
        guard let flops = FlopCounter.count(model, input: input) else {
            throw PruningError.unsupportedModel(method: StripeWisePruning.id, detail: "no FLOP count")
        }
        var live = 0, stripes = 0
        for path in result.masks.paths where result.masks[path]!.rank == 4 && result.masks[path]!.shape[2] > 1 {
            let keep = FilterSkeleton.stripes(ofWeightMask: result.masks[path]!)
            stripes += keep.count
            live += keep.filter { $0 }.count
        }
        return SWPResult(macs: flops.prunedMACs, denseMACs: flops.denseMACs, parameters: SWPVersusFilterL1.nonzeroParameters(model),
                         accuracy: result.test.accuracy, live: live, stripes: stripes,
                         filters: (try? SWPVersusFilterL1.filterCounts(model)) ?? (0, 0), notes: result.notes)
    }

    /// Filter L1 at `ratio` with fine-tuning. Trains the dense network first when `dense` is nil
    /// (and returns its state, captured when the prune phase starts); otherwise starts from `dense`
    /// (``FilterL1Pruning`` with `pretrain: false`).
    static func runFilterL1(ratio: Double, dense: ModuleState?, train: TrainingConfig, tune: PhaseOverrides, seed: UInt64,
                            options: ReproductionOptions) throws -> (SWPVersusFilterL1.Arm, ModuleState) {
        let method = #"{"name": "filter-l1", "ratio": \#(ratio), "scope": "layerwise", "pretrain": \#(dense == nil)}"#
        let spec = spec(method, train: train, tune: tune, seed: seed)
        let data = try PreparedData.load(spec.dataset, batchSize: train.batchSize, seed: seed, directory: options.dataDirectory)
        let model = try data.makeModel(spec.model, seed: seed)
        if let dense { try model.loadStateDict(dense) }
        var captured = dense
        let result = try PipelineRunner.run(spec: spec, model: model, data: data) { event in
            if case let .epoch(phase, metrics) = event, metrics.epoch % 5 == 4 {
                options.log("filter-L1 \(phase) epoch \(metrics.epoch + 1): test acc \(Format.percent(metrics.evaluation?.accuracy ?? 0))")
            }
            if case let .phaseStarted(name, _) = event, name == "prune", captured == nil { captured = model.captureState() }
        }
        guard let captured, let flops = FlopCounter.count(model, input: input), let event = result.events.first else {
            throw PruningError.unsupportedModel(method: FilterL1Pruning.id, detail: "no FLOP count, dense state or pruning event")
        }
        let filters = try SWPVersusFilterL1.filterCounts(model)
        return (SWPVersusFilterL1.Arm(macs: flops.prunedMACs, denseMACs: flops.denseMACs, parameters: SWPVersusFilterL1.nonzeroParameters(model),
                                      accuracyBefore: event.accuracyBefore, accuracyPruned: event.accuracyAfter, accuracyFinal: result.test.accuracy,
                                      detail: "\(filters.kept)/\(filters.total) channels kept"), captured)
    }
}
