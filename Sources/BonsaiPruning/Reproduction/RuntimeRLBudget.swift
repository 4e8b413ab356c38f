import Foundation

/// METHODS.md §13.7 (3) with the zoo's conv-4 (64, 64, 128, 128 channels): the RL agents bring the
/// realised MACs of the gated convs to within ±5 % of the cap at budget 0.5; the runtime-pruned
/// network is well above a uniform width-0.5 network without fine-tuning and comparable to one
/// with fine-tuning (same MACs); storage falls as `dp` falls; and runtime inference that skips the
/// gated channels gives the masked network's logits with the MACs the budget counts.
///
/// Data: the full run uses the paper's data set, CIFAR-10 (the shipped 1,000-image subset; §13.7
/// asks for a 10k subset, which is not shipped), 15 pretraining epochs; `--quick` uses the 8×8
/// digits, where a run takes minutes but the cross-entropy hardly depends on width. CifarNet
/// itself and the paper's schedule (32 rounds, one with 200 base epochs) are out of reach of a
/// 2-core CPU. The agents' own adherence to the cap (before ``BudgetCalibration``) and the
/// calibrated figure are both reported.
///
/// **Why the agents alone land under the cap** (measured with ``RuntimeEpochStatistics``; details
/// and numbers in docs/runtime-pruning.md): not the budget arithmetic, which follows §13.3; partly
/// a reward that charged the `ceil` channel counts (fixed: `round(C·r)`, as §13.3); mostly the
/// paper's reward itself under the policy's sampling noise — with sampled `c` spread by
/// s ≈ 0.007–0.013 and a performance slope `dperf/dc` ≈ 0.3–1.5 on these small data sets, the
/// expected reward peaks 7–11 % under the cap, and σ is not driven down. The paper's round shape
/// (4 agent + 2 base epochs, 4 rounds) with agent lr 1e-3 / 3e-4 / 1e-4 gave −20.5 / −12.3 / −6.7 %
/// at dp 0.5 on the digits (lr 1e-4: −1.5 % at dp 0, −9.9 % at dp 1; CIFAR subset, dp 0.5: −7.2 %,
/// where the performance slope is ≈ 0), so the schedule here stays
/// 2 agent + 1 base epochs per round with lr 3e-4 and the claim is reported as not held.
public enum RuntimeRLBudget: Reproduction {
    public static let name = "runtime-rl-budget"
    public static let claim = "PPO agents meet the MAC cap (±5 %) with per-input channel gating; accuracy beats a uniform-width net at the same MACs without fine-tuning and is comparable with it; storage falls with dp."
    public static let source = "METHODS.md §13.7"

    struct RuntimeRun {
        var evaluation: RuntimeEvaluation
        /// The agents on their own means, before ``BudgetCalibration``.
        var uncalibrated: RuntimeEvaluation
        var staticAccuracy: Double
        var maxLogitError: Double
        var executedMACs: Double, denseMACs: Double
        var runtimeMicroseconds: Double, denseMicroseconds: Double
    }

    /// The data set and pretraining of a run: CIFAR-10 (full) or the 8×8 digits (quick).
    struct Setting {
        var dataset: String, pretrain: Int, lr: Double
        var label: String { "\(dataset == "cifar10" ? "CIFAR-10 subset (900 train / 1,000 test, crop + flip)" : "digits (8×8)"), pretrain \(pretrain) epochs SGD lr \(lr) momentum 0.9 batch 64" }
        static func of(_ options: ReproductionOptions) -> Setting {
            options.quick ? Setting(dataset: "digits", pretrain: 4, lr: 0.05) : Setting(dataset: "cifar10", pretrain: 15, lr: 0.02)
        }
    }

    static func spec(_ method: String, seed: UInt64, setting: Setting) -> PipelineSpec {
        PipelineSpec(model: ModelSpec(architecture: "conv4"), dataset: DatasetSpec(name: setting.dataset, validation: 0.1),
                     methodJSON: Data(method.utf8),
                     train: TrainingConfig(epochs: setting.pretrain, batchSize: 64, optimizer: OptimizerConfig(name: "sgd", lr: setting.lr, momentum: 0.9)),
                     seed: seed)
    }

    static func runtime(dp: Double, seed: UInt64, setting: Setting, rounds: Int, options: ReproductionOptions) throws -> RuntimeRun {
        let settings = #"{"name": "runtime-channel-rl", "budget": 0.5, "dp": \#(dp), "rounds": \#(rounds), "agent_epochs": 2, "base_epochs": 1}"#
        let spec = spec(settings, seed: seed, setting: setting)
        let (model, data, result) = try PipelineRunner.run(spec: spec, directory: options.dataDirectory) { event in
            if case let .message(text) = event, text.hasPrefix("runtime") { options.log("  dp \(dp): " + text) }
        }
        // Rebuild the runtime network from the pipeline's result, as a user of the artifact would.
        let method = try RuntimeChannelRL.decode(settings: Data(settings.utf8))
        guard case let .image(c, h, w) = data.input else { throw PruningError.unsupportedModel(method: name, detail: "image data") }
        let network = try GatedNetwork(model: model, inputShape: [c, h, w], seed: seed)
        let agents = RuntimePolicy.agents(for: network, hidden: method.settings.hidden ?? 32, seed: seed)
        let policy = RuntimePolicy(network: network, dynamicAgent: agents.dynamic, staticAgent: agents.static, budget: 0.5, dp: dp, seed: seed)
        var tensors: [String: Tensor] = [:]
        for (key, t) in result.stash where key.hasPrefix(RuntimeArtifact.stashPrefix) { tensors[String(key.dropFirst(RuntimeArtifact.stashPrefix.count))] = t }
        try RuntimeArtifact.load(tensors, network: network, policy: policy)
        let frozen = try JSONDecoder().decode(FrozenStatic.self, from: Data((result.notes[RuntimeChannelRL.staticNote] ?? "").utf8))
        policy.frozenStatic = (frozen.ratios, frozen.masks)
        let calibration = try JSONDecoder().decode(BudgetCalibration.Result.self,
                                                   from: Data((result.notes[RuntimeChannelRL.calibrationNote] ?? "").utf8))
        policy.dynamicShift = calibration.dynamicShift
        let uncalibrated = try JSONDecoder().decode(RuntimeEvaluation.self,
                                                    from: Data((result.notes[RuntimeChannelRL.uncalibratedNote] ?? "").utf8))
        let trainer = RuntimeTrainer(network: network, policy: policy, plan: RuntimeTrainingPlan(), seed: seed)
        let evaluation = trainer.evaluate(data.test)
        // Runtime inference, one input at a time, against the masked gated forward and the dense model.
        let inference = RuntimeInference(network: network, policy: policy)
        var maxError = 0.0, macs = 0.0, count = 0
        var runtimeTime = 0.0, denseTime = 0.0
        for batch in data.test.prefix(4) {
            guard case let .dense(x) = batch.input else { continue }
            policy.sample = false
            policy.begin(inputs: batch.count)
            let (logits, _) = Engine.withoutGrad { network.forward(x, context: .evaluation, controller: policy.controller) }
            let classes = logits.shape[1]
            for i in 0..<batch.count {
                let one = x.sliced(axis: 0, start: i, length: 1)
                var start = Date()
                let out = inference.run(one)
                runtimeTime += Date().timeIntervalSince(start)
                start = Date()
                _ = Engine.withoutGrad { model.forward(.dense(one), context: .evaluation) }
                denseTime += Date().timeIntervalSince(start)
                let a = out.logits.floats, b = Array(logits.floats[i * classes ..< (i + 1) * classes])
                maxError = max(maxError, zip(a, b).map { Double(abs($0 - $1)) / max(1, Double(abs($1))) }.max() ?? 0)
                macs += Double(out.macs)
                count += 1
            }
        }
        return RuntimeRun(evaluation: evaluation, uncalibrated: uncalibrated, staticAccuracy: result.test.accuracy, maxLogitError: maxError,
                          executedMACs: macs / Double(max(count, 1)), denseMACs: Double(inference.denseMACs),
                          runtimeMicroseconds: 1e6 * runtimeTime / Double(max(count, 1)),
                          denseMicroseconds: 1e6 * denseTime / Double(max(count, 1)))
    }

    /// Uniform width `b` on the pretrained net (top-L1 filters of every conv): test accuracy before
    /// and after fine-tuning for `epochs` (Adam lr 1e-3, as the runtime base updates), and its MAC fraction.
    static func uniform(seed: UInt64, setting: Setting, epochs: Int, options: ReproductionOptions) throws -> (before: Double, after: Double, macs: Double) {
        let spec = spec(#"{"name": "filter-l1"}"#, seed: seed, setting: setting)
        let (model, data) = try PipelineRunner.prepare(spec, directory: options.dataDirectory)
        let context = try PipelineContext(model: model, data: data, spec: spec)
        try context.phase("pretrain") { try context.train(spec.train) }
        let groups = try context.channelGroups(method: name).filter { model.module(at: $0.producer) is Conv2d }
        var channels = ChannelMaskSet()
        let scores = ChannelScores.filterL1(model, groups: groups)
        for (g, group) in groups.enumerated() {
            let keep = GateSelection.keepCount(ratio: 0.5, channels: group.channels)
            channels[group.name] = ChannelMask(group: group.name, kept: GateSelection.top(scores[g].map(Float.init), count: keep),
                                               channels: group.channels)
        }
        try context.phase("prune") { try context.pruneChannels(channels, groups: groups, event: "uniform width 0.5") }
        let before = context.evaluateTest().accuracy
        let tune = TrainingConfig(epochs: epochs, batchSize: 64, optimizer: OptimizerConfig(name: "adam", lr: 1e-3))
        try context.phase("finetune") { try context.train(tune) }
        guard case let .image(c, h, w) = data.input else { throw PruningError.unsupportedModel(method: name, detail: "image data") }
        let budget = try GatedNetwork(model: model, inputShape: [c, h, w], seed: seed).budget
        return (before, context.evaluateTest().accuracy, budget.macFraction(kept: groups.map { channels[$0.name]!.kept.count }))
    }

    public static func run(_ options: ReproductionOptions) throws -> ReproductionReport {
        let setting = Setting.of(options)
        let rounds = options.quick ? 1 : 3
        let dps = [0.0, 0.5, 1.0]
        var rows: [[String]] = []
        var withinCap = 0, agentsWithinCap = 0, total = 0, aboveUniform = 0, comparable = 0, storageFalls = 0, exact = 0
        for seed in options.seeds {
            try Engine.withThreads(options.threads) {
                var storage: [Double] = []
                var half: RuntimeRun?
                for dp in dps {
                    options.log("seed \(seed): runtime-channel-rl dp \(dp)")
                    let r = try runtime(dp: dp, seed: seed, setting: setting, rounds: rounds, options: options)
                    let e = r.evaluation
                    let relative = e.macFraction / e.macCap - 1
                    total += 1
                    if abs(relative) <= 0.05 { withinCap += 1 }
                    let raw = r.uncalibrated.macFraction / e.macCap - 1
                    if abs(raw) <= 0.05 { agentsWithinCap += 1 }
                    if r.maxLogitError <= 1e-4 { exact += 1 }
                    storage.append(e.parameterFraction)
                    if dp == 0.5 { half = r }
                    rows.append(["\(seed)", "runtime dp \(dp)", Format.percent(e.accuracy), Format.percent(r.staticAccuracy),
                                 Format.number(e.macFraction) + " [" + Format.number(e.macFractionMin) + ", " + Format.number(e.macFractionMax) + "]",
                                 Format.number(e.macCap), Format.percent(relative),
                                 Format.number(r.uncalibrated.macFraction) + " (" + Format.percent(raw) + "), acc " + Format.percent(r.uncalibrated.accuracy),
                                 Format.number(e.parameterFraction),
                                 Format.number(r.executedMACs / r.denseMACs),
                                 "\(Int(r.runtimeMicroseconds)) / \(Int(r.denseMicroseconds))", String(format: "%.1e", r.maxLogitError)])
                }
                if zip(storage, storage.dropFirst()).allSatisfy({ $0 <= $1 + 1e-12 }) { storageFalls += 1 }
                options.log("seed \(seed): uniform width 0.5")
                let u = try uniform(seed: seed, setting: setting, epochs: rounds * 3, options: options)
                rows.append(["\(seed)", "uniform width 0.5", "\(Format.percent(u.before)) → FT \(Format.percent(u.after))", "–",
                             Format.number(u.macs), "–", "–", "–", Format.number(u.macs), "–", "–", "–"])
                if let half {
                    if half.evaluation.accuracy > u.before + 0.02 { aboveUniform += 1 }
                    if half.evaluation.accuracy >= u.after - 0.02 { comparable += 1 }
                }
            }
        }
        let seeds = options.seeds.count
        return ReproductionReport(
            name: name, claim: claim,
            columns: ["seed", "model", "runtime test acc", "static-only acc (gates off)", "MAC fraction mean [min, max]", "MAC cap",
                      "vs cap", "agents alone, before calibration: MAC fraction (vs cap), acc", "stored conv params", "executed MACs / dense (incl. linear)", "µs per input runtime / dense", "max logit err"],
            rows: rows,
            checks: [
                ReproductionCheck("the PPO agents alone (means, before calibration) land within ±5 % of the MAC cap (relative; the paper's claim)",
                                  held: agentsWithinCap == total, detail: "\(agentsWithinCap) of \(total) runs"),
                ReproductionCheck("after budget calibration (our addition) the realised MACs are within ±5 % of the cap (relative)",
                                  held: withinCap == total, detail: "\(withinCap) of \(total) runs"),
                ReproductionCheck("runtime (dp 0.5) > uniform width 0.5 without fine-tuning (+2 points)", held: aboveUniform * 2 > seeds,
                                  detail: "\(aboveUniform) of \(seeds) seeds"),
                ReproductionCheck("runtime (dp 0.5) ≥ uniform width 0.5 with fine-tuning − 2 points", held: comparable * 2 > seeds,
                                  detail: "\(comparable) of \(seeds) seeds"),
                ReproductionCheck("stored parameters fall as dp falls (dp 0 ≤ 0.5 ≤ 1)", held: storageFalls == seeds, detail: "\(storageFalls) of \(seeds) seeds"),
                ReproductionCheck("runtime inference skipping channels = masked forward (≤ 1e-4)", held: exact == total, detail: "\(exact) of \(total) runs"),
            ],
            notes: ["conv-4 on \(setting.label); budget 0.5; \(rounds) round(s) of 2 agent + 1 base epochs; RNN hidden 32; agent Adam lr 3e-4 (a guess)",
                    "uniform baseline: top-L1 ceil(0.5·C) filters of every conv of the same pretrained net, fine-tuned \(rounds * 3) epochs with Adam lr 1e-3",
                    "MAC fractions count the gated convs only (the budget's definition); 'executed MACs / dense' includes the linear layers and excludes the gating overhead",
                    "latency: one input at a time on CPU, where per-layer overheads (gathering the kept filters, the agent) weigh heavily on these small maps; reported, not checked",
                    "agents alone under the cap: the paper's reward peaks a few sampling-noise widths under the cap on these data; per-epoch diagnostics and the schedules and agent learning rates tried are in docs/runtime-pruning.md",
                    "calibration (our addition): after PPO one constant per agent is added to its mean keep-ratio so the realised storage and MACs on 4 training batches meet the caps; the agents' own figures are in the 'before calibration' column"])
    }
}
