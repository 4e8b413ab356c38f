import Foundation
import Testing
import BonsaiPruning

/// Stripe-wise pruning's own properties (METHODS.md §5.6, §18 item 5): dead stripes stay exactly
/// dead through SGD with momentum and weight decay; the L1 hook adds exactly `α·sign(I)`; the
/// skeleton reparameterisation is `W ⊙ I[:, None]`; exact stripe counts with ties by position;
/// filter removal and compaction agree with the masked model; the pruned convs run stripe-wise.
@Suite(.serialized) struct StripeWisePruningTests {
    static func conv2(seed: UInt64 = 3) throws -> (model: any Model, data: PreparedData) {
        let data = try PreparedData.load(DatasetSpec(name: "digits"), batchSize: 32, seed: seed, directory: TestData.directory)
        return (try data.makeModel(ModelSpec(architecture: "conv2"), seed: seed), data)
    }

    static func resnet(width: Int, seed: UInt64 = 3) throws -> (model: any Model, data: PreparedData) {
        let data = try PreparedData.load(DatasetSpec(name: "digits"), batchSize: 32, seed: seed, directory: TestData.directory)
        return (try data.makeModel(ModelSpec(architecture: "resnet20", options: ArchitectureOptions(width: Double(width))), seed: seed), data)
    }

    static func convPaths(_ model: any Model) -> [String] {
        model.namedParameters().filter { $0.parameter.shape.count == 4 && $0.parameter.shape[2] > 1 }.map(\.path)
    }

    @Test func reparameterizationMultipliesStripes() throws {
        let (model, _) = try Self.conv2()
        let path = Self.convPaths(model)[0]
        let weight = model.parameter(at: path)!
        var rng = RandomGenerator(seed: 2)
        let skeleton = FilterSkeleton(path: path, weight: weight,
                                      initial: .normal([weight.shape[0], weight.shape[2], weight.shape[3]], using: &rng))
        skeleton.attach(to: weight)
        defer { weight.reparameterization = nil }
        let w = weight.value.floats, s = skeleton.parameter.value.floats, eff = Engine.withoutGrad { weight.effective.floats }
        let (c, k2) = (weight.shape[1], weight.shape[2] * weight.shape[3])
        for i in w.indices {
            let n = i / (c * k2), position = i % k2
            #expect(eff[i] == w[i] * s[n * k2 + position])
        }
    }

    /// §5.6 (2): stripes whose skeleton entry is at or below δ are zeroed at the next backward
    /// and stay exactly 0 (value and momentum) through further SGD steps with weight decay; the
    /// mask only ever loses ones.
    @Test func deadStripesStayDead() throws {
        let (model, data) = try Self.conv2()
        let skeletons = Self.convPaths(model).map { FilterSkeleton(path: $0, weight: model.parameter(at: $0)!) }
        for s in skeletons { s.attach(to: model.parameter(at: s.path)!) }
        defer { for s in skeletons { model.parameter(at: s.path)!.reparameterization = nil } }
        // Some entries start below δ = 0.01, one exactly at δ.
        var values = skeletons[0].parameter.value.floats
        for i in stride(from: 0, to: values.count, by: 5) { values[i] = 0.004 }
        values[1] = 0.01
        skeletons[0].parameter.assign(Tensor(shape: skeletons[0].parameter.shape, scalars: values))
        let parameters = model.namedParameters() + skeletons.map { (path: "skeleton.\($0.path)", parameter: $0.parameter) }
        let optimizer = try OptimizerConfig(name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 5e-4).make(parameters: parameters)
        let trainer = try Trainer(model: model, config: TrainingConfig(epochs: nil, steps: 6, batchSize: 32), seed: 1, optimizer: optimizer)
        var hooks = StripeWisePruning.hooks(skeletons, penalty: 1e-3, threshold: 0.01, model: model,
                                            groups: try ChannelDependencies.groups(of: model))
        var previous: [Float]? = nil
        var checked = 0
        hooks.afterStep = { _ in
            let mask = skeletons[0].parameter.mask!.floats, value = skeletons[0].parameter.value.floats
            for i in stride(from: 0, to: values.count, by: 5) { #expect(mask[i] == 0 && value[i] == 0, "entry \(i) revived: \(value[i])") }
            #expect(mask[1] == 0 && value[1] == 0, "|I| = δ is dead")
            for i in mask.indices where mask[i] == 0 { #expect(value[i] == 0) }
            if let previous { #expect(zip(previous, mask).allSatisfy { $0 != 0 || $1 == 0 }, "a dead stripe was revived") }
            previous = mask
            checked += 1
        }
        trainer.hooks = hooks
        try trainer.run(data: data.loader)
        #expect(checked == 6)
        let state = optimizer.state().tensors["skeleton.\(skeletons[0].path)/momentum_buffer"]!.floats
        for i in stride(from: 0, to: values.count, by: 5) { #expect(state[i] == 0, "momentum of dead entry \(i) is \(state[i])") }
    }

    /// The hook adds exactly `α·sign(I)` to the skeleton's gradient.
    @Test func l1HookAddsScaledSign() throws {
        let (model, data) = try Self.conv2()
        let path = Self.convPaths(model)[0]
        let skeleton = FilterSkeleton(path: path, weight: model.parameter(at: path)!)
        var values = skeleton.parameter.value.floats
        values[0] = -0.5; values[2] = 0.3
        skeleton.parameter.assign(Tensor(shape: skeleton.parameter.shape, scalars: values))
        skeleton.attach(to: model.parameter(at: path)!)
        defer { model.parameter(at: path)!.reparameterization = nil }
        let batch = try data.loader.batch(epoch: 0, index: 0)
        crossEntropy(logits: Engine.withGrad { model.forward(batch.input, context: ForwardContext(training: true)) }, labels: batch.labels).backward()
        let before = skeleton.parameter.grad!.doubles
        let alpha = 0.25
        try StripeWisePruning.hooks([skeleton], penalty: alpha, threshold: 0.01, model: model, groups: []).afterBackward!(TrainingPosition())
        let after = skeleton.parameter.grad!.doubles
        for i in values.indices {
            let sign: Double = values[i] > 0 ? 1 : (values[i] < 0 ? -1 : 0)
            #expect(Swift.abs(after[i] - before[i] - alpha * sign) < 1e-6, "entry \(i): \(after[i] - before[i])")
        }
    }

    /// `stripe_sparsity` prunes exactly `round(s·S)` stripes; with all-equal skeletons (ties) the
    /// lowest positions go first; dead stripes are pruned first and never revived.
    @Test func exactStripeCountWithTiesByPosition() throws {
        let (model, _) = try Self.conv2()
        let skeletons = Self.convPaths(model).map { FilterSkeleton(path: $0, weight: model.parameter(at: $0)!) }
        let total = skeletons.reduce(0) { $0 + $1.parameter.value.count }
        var live = skeletons.map { [Bool](repeating: true, count: $0.parameter.value.count) }
        let keep = StripeWisePruning.exactStripes(skeletons, live: live, sparsity: 0.3)
        let flat = keep.flatMap { $0 }
        let pruned = Int((0.3 * Double(total)).rounded())
        #expect(flat.filter { !$0 }.count == pruned)
        #expect(flat.prefix(pruned).allSatisfy { !$0 } && flat.dropFirst(pruned).allSatisfy { $0 })
        // A dead stripe near the end is pruned first and stays pruned.
        live[live.count - 1][live[live.count - 1].count - 1] = false
        let again = StripeWisePruning.exactStripes(skeletons, live: live, sparsity: 0.3).flatMap { $0 }
        #expect(again.filter { !$0 }.count == pruned && again.last == false)
        // More dead than the target: only the dead ones are pruned.
        let dead = live.map { $0.map { _ in false } }
        #expect(StripeWisePruning.exactStripes(skeletons, live: dead, sparsity: 0.3).flatMap { $0 }.allSatisfy { !$0 })
    }

    static func spec(_ method: String, model: ModelSpec, steps: Int = 8) -> PipelineSpec {
        PipelineSpec(model: model, dataset: DatasetSpec(name: "digits", validation: 0.1), methodJSON: Data(method.utf8),
                     train: TrainingConfig(epochs: nil, steps: steps, batchSize: 32,
                                           optimizer: OptimizerConfig(name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 1e-4)),
                     finetune: PhaseOverrides(steps: 2), seed: 5)
    }

    /// §5.6 (3): on a ResNet (batch norm after every conv), filters whose stripes all died are
    /// removed as channels with their BN; the masked model, the compacted model and the stripe-wise
    /// execution of every pruned conv agree; stripe counts are exact over the K×K convs.
    @Test func pipelineFilterRemovalCompactionAndStripeExecution() throws {
        let spec = Self.spec(#"{"name": "stripe-wise", "penalty": 1e-4, "stripe_sparsity": 0.8}"#,
                             model: ModelSpec(architecture: "resnet20", options: ArchitectureOptions(width: 4)))
        let (model, _, result) = try PipelineRunner.run(spec: spec, directory: TestData.directory)
        let paths = Self.convPaths(model)
        var stripes = 0, kept = 0
        for path in paths {
            let mask = result.masks[path]!
            let keep = FilterSkeleton.stripes(ofWeightMask: mask)
            stripes += keep.count
            kept += keep.filter { $0 }.count
        }
        // Channel removal can only remove more stripes (never the case here: removed filters had
        // none left), so the count is exact.
        #expect(stripes - kept == Int((0.8 * Double(stripes)).rounded()), "\(stripes - kept) of \(stripes) stripes pruned")
        #expect(result.events.count == 2)
        let groups = try ChannelDependencies.groups(of: model)
        let channels = ChannelMasks.current(in: model, groups: groups)
        #expect(channels.counts.kept < channels.counts.total, "no filter lost all its stripes")
        var rng = RandomGenerator(seed: 8)
        let x = Tensor.normal([3, 1, 8, 8], using: &rng)
        let masked = Engine.withoutGrad { model.forward(.dense(x), context: .evaluation) }
        let compact = try Compaction.compact(model)
        let compacted = Engine.withoutGrad { compact.model.forward(.dense(x), context: .evaluation) }
        let difference = zip(masked.floats, compacted.floats).reduce(Float(0)) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
        #expect(difference <= 1e-5, "masked and compacted outputs differ by \(difference)")
        for group in groups {
            #expect(compact.model.parameter(at: group.producer + ".weight")?.shape[0] == channels[group.name]!.kept.count)
            #expect(compact.model.parameter(at: group.norm! + ".weight")?.shape == [channels[group.name]!.kept.count])
        }
        // Every pruned conv, executed stripe-wise, equals its masked dense forward.
        for (path, module) in model.namedModules() {
            guard let conv = module as? Conv2d, conv.kernel > 1 else { continue }
            let input = Tensor.normal([2, conv.inChannels, 9, 9], using: &rng)
            let w = Engine.withoutGrad { conv.weight.effective }
            let stripe = StripeConv(weight: w, stripes: nil, bias: conv.bias?.effective, stride: conv.stride, padding: conv.padding)
            let expected = Engine.withoutGrad { conv.forward(input, context: .evaluation) }
            let error = StripeWiseConvTests.maxRelativeError(stripe(input), expected)
            #expect(error <= 1e-5, "\(path): stripe-wise differs by \(error)")
        }
    }

    /// With a large α the skeletons die during training; the pipeline records them without a
    /// `stripe_sparsity` target, and every dead skeleton entry is a pruned stripe.
    @Test func thresholdModeFollowsTheSkeleton() throws {
        let spec = Self.spec(#"{"name": "stripe-wise", "penalty": 0.05, "threshold": 0.95}"#, model: ModelSpec(architecture: "conv2"), steps: 10)
        let (model, _, result) = try PipelineRunner.run(spec: spec, directory: TestData.directory)
        let pruned = Self.convPaths(model).reduce(0) { $0 + FilterSkeleton.stripes(ofWeightMask: result.masks[$1]!).filter { !$0 }.count }
        #expect(pruned > 0, "α = 0.05 with δ = 0.95 killed no stripe in 10 steps")
        #expect(result.masks.isBinary)
        // Without a budget the stripes dead at δ are exactly the pruned ones (the report's note).
        let total = Self.convPaths(model).reduce(0) { $0 + FilterSkeleton.stripes(ofWeightMask: result.masks[$1]!).count }
        #expect(result.notes["dead_at_threshold"] == "\(pruned) of \(total)")
        #expect(result.notes["skeleton_quantiles"]?.split(separator: "/").count ?? 0 == (pruned < total ? 3 : 0))
        // The trace has one entry at 10, 25, 50, 75 and 100 % of the 10 steps (1, 3, 5, 8, 10).
        let trace = result.notes["skeleton_trace"]?.components(separatedBy: "; ") ?? []
        #expect(trace.map { $0.split(separator: ":").first.map(String.init) ?? "" } == ["step 1", "step 3", "step 5", "step 8", "step 10"])
        #expect(trace.last?.contains("live \(total - pruned)/\(total)") == true, "\(trace.last ?? "no trace")")
    }

    /// The reference's batch-norm init: every BN scale starts at `bn_gamma_init` (default 0.5) when
    /// SWP's training starts; β and the running statistics are untouched; `1` leaves the model alone.
    @Test func batchNormScaleInitialisation() throws {
        let model = ModelSpec(architecture: "resnet20", options: ArchitectureOptions(width: 4))
        for (json, gamma) in [(#"{"name": "stripe-wise", "penalty": 0}"#, 0.5), (#"{"name": "stripe-wise", "penalty": 0, "bn_gamma_init": 1}"#, 1.0),
                              (#"{"name": "stripe-wise", "penalty": 0, "bn_gamma_init": 0.25}"#, 0.25)] {
            let (trained, _, _) = try PipelineRunner.run(spec: Self.spec(json, model: model, steps: 0), directory: TestData.directory)
            let norms = trained.namedModules().compactMap { $0.module as? BatchNorm }
            #expect(norms.count >= 19, "resnet20 has at least 19 batch norms, found \(norms.count)")
            for norm in norms {
                #expect(norm.weight.value.doubles.allSatisfy { $0 == gamma }, "\(json): γ \(norm.weight.value.doubles.prefix(3))")
                #expect(norm.bias.value.doubles.allSatisfy { $0 == 0 })
            }
        }
        // The helper alone: 0.5 on a fresh model, and 1 is a no-op on whatever is there.
        let (fresh, _) = try Self.resnet(width: 4)
        StripeWisePruning.initializeNormScales(fresh, gamma: 0.5)
        StripeWisePruning.initializeNormScales(fresh, gamma: 1)
        #expect(fresh.namedModules().compactMap { $0.module as? BatchNorm }.allSatisfy { $0.weight.value.doubles.allSatisfy { $0 == 0.5 } })
    }

    @Test func settingsValidation() {
        for bad in [#"{"penalty": -1}"#, #"{"threshold": 1}"#, #"{"stripe_sparsity": 1}"#, #"{"penalty": "x"}"#,
                    #"{"bn_gamma_init": 0}"#, #"{"bn_gamma_init": 11}"#] {
            #expect(throws: PruningError.self) { try StripeWisePruning.decode(settings: Data(bad.utf8)) }
        }
        #expect(throws: PruningError.self) {
            try PipelineRunner.run(spec: Self.spec(#"{"name": "stripe-wise"}"#, model: ModelSpec(architecture: "lenet300")),
                                   directory: TestData.directory)
        }
    }
}
