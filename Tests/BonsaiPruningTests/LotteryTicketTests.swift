import Foundation
import Testing
import BonsaiPruning

/// Lottery tickets' own properties (METHODS.md §2.6 and §18 item 2) on the tiny digits MLP
/// (64→24→12→10, 1944 prunable weights): monotone masks, exactly `ceil(p·remaining)` pruned per
/// level, survivors bit-equal to θ₀ after a reset and to θ_k after rewinding, the retraining
/// learning rate at step k equal to the dense run's, and the sanity checks.
@Suite(.serialized) struct LotteryTicketTests {
    /// What a run exposes: masks after each pruning event, the model state right after each
    /// `prune-ℓ` phase (the restarted ticket), the state after step k of the first training, and
    /// the learning rate of every step by phase.
    struct Trace {
        var masks: [MaskSet] = []
        var restarted: [[String: [Float]]] = []
        var afterStep: [Int: [String: [Float]]] = [:]
        var rates: [(phase: String, step: Int, lr: Double)] = []
        var initial: [String: [Float]] = [:]
        var final: [String: [Float]] = [:]
    }

    static func values(_ model: any Model) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.path, $0.parameter.value.floats) })
    }

    static func run(_ method: String, train: TrainingConfig? = nil, seed: UInt64 = 3, recordSteps: Set<Int> = []) throws -> Trace {
        var spec = try MethodInvariantTests.spec(method, seed: seed)
        if let train { spec.train = train }
        let data = try PreparedData.load(spec.dataset, batchSize: spec.train.batchSize, seed: seed, directory: TestData.directory)
        let model = try data.makeModel(spec.model, seed: seed)
        var trace = Trace()
        trace.initial = values(model)
        _ = try PipelineRunner.run(spec: spec, model: model, data: data) { event in
            switch event {
            case .pruned: trace.masks.append(MaskSet(model: model))
            case let .phaseCompleted(name) where name.hasPrefix("prune-"): trace.restarted.append(values(model))
            case let .step(phase, _, metrics):
                trace.rates.append((phase, metrics.step, metrics.learningRate))
                if phase == "level-0", recordSteps.contains(metrics.step + 1) { trace.afterStep[metrics.step + 1] = values(model) }
            default: break
            }
        }
        trace.final = values(model)
        return trace
    }

    static let prunable = ["1.weight", "3.weight", "5.weight"]

    @Test func countsPerLevelAreCeilOfFractionOfRemainingAndMasksAreMonotone() throws {
        let trace = try Self.run(#"{"name": "lottery-ticket", "levels": 4, "fraction": 0.2}"#)
        #expect(trace.masks.count == 4)
        var remaining = 1944
        for (level, masks) in trace.masks.enumerated() {
            remaining -= Int((0.2 * Double(remaining)).rounded(.up))
            #expect(masks.counts.kept == remaining, "level \(level + 1): \(masks.counts.kept) kept, expected \(remaining)")
            #expect(masks.isBinary)
        }
        #expect(remaining == 1944 - 389 - 311 - 249 - 199)
        for (earlier, later) in zip(trace.masks, trace.masks.dropFirst()) { #expect(later.isMonotone(after: earlier)) }
        #expect(IMPSchedule.remaining(total: 1944, fraction: 0.2, levels: 4) == [1555, 1244, 995, 796])
        #expect(IMPSchedule.remaining(total: 1000, fraction: 0.2, targetKept: 500) == [800, 640, 512, 500])
        #expect(IMPSchedule.levels(total: 266_200, fraction: 0.2, targetKept: 26_620) == 11)
    }

    @Test func layerwiseScopePrunesEachTensorByItsOwnRemaining() throws {
        let trace = try Self.run(#"{"name": "lottery-ticket", "levels": 2, "scope": "layerwise"}"#)
        var remaining = ["1.weight": 1536, "3.weight": 288, "5.weight": 120]
        for masks in trace.masks {
            for path in Self.prunable {
                remaining[path]! -= Int((0.2 * Double(remaining[path]!)).rounded(.up))
                #expect(masks.keptCount(path) == remaining[path]!, "\(path)")
            }
        }
    }

    @Test func resetRestoresTheInitialWeightsOfTheSurvivorsExactly() throws {
        let trace = try Self.run(#"{"name": "lottery-ticket", "levels": 2}"#)
        #expect(trace.restarted.count == 2)
        for (level, restarted) in trace.restarted.enumerated() {
            for (path, value) in restarted {
                let mask = trace.masks[level][path]?.floats
                let initial = trace.initial[path]!
                for i in value.indices {
                    let expected = mask.map { $0[i] == 0 ? 0 : initial[i] } ?? initial[i]
                    #expect(value[i] == expected, "level \(level + 1) \(path)[\(i)]: \(value[i]) vs θ₀ \(expected)")
                    if value[i] != expected { break }
                }
            }
        }
        // Training moved the weights in between, so the reset did something.
        #expect(trace.final["1.weight"]! != trace.restarted.last!["1.weight"]!)
    }

    @Test func rewindRestoresThetaKAndReplaysTheLearningRateFromStepK() throws {
        let k = 3
        let train = TrainingConfig(epochs: nil, steps: 8, batchSize: 32, optimizer: OptimizerConfig(name: "sgd", lr: 0.05, momentum: 0.9),
                                   schedule: .step(stepSize: 2, gamma: 0.5), schedulePerStep: true)
        let trace = try Self.run(#"{"name": "lottery-ticket", "levels": 2, "rewind": "weights", "rewind_step": 3}"#, train: train,
                                 recordSteps: [k])
        let thetaK = try #require(trace.afterStep[k])
        #expect(thetaK["1.weight"]! != trace.initial["1.weight"]!)
        for (level, restarted) in trace.restarted.enumerated() {
            for (path, value) in restarted {
                let mask = trace.masks[level][path]?.floats
                let expected = zip(thetaK[path]!, mask ?? Array(repeating: 1, count: value.count)).map { $1 == 0 ? 0 : $0 }
                #expect(value == expected, "level \(level + 1) \(path) is not θ_k ⊙ m")
            }
        }
        // Levels ≥ 1 run steps k…T−1 with the dense run's rates at those steps.
        let dense = trace.rates.filter { $0.phase == "level-0" }
        for phase in ["level-1", "level-2"] {
            let level = trace.rates.filter { $0.phase == phase }
            #expect(level.map(\.step) == Array(k..<8))
            #expect(level.map(\.lr) == Array(dense.map(\.lr)[k..<8]))
        }
    }

    @Test func learningRateRewindingKeepsTheTrainedWeights() throws {
        let trace = try Self.run(#"{"name": "lottery-ticket", "levels": 1, "rewind": "learning-rate"}"#)
        let restarted = trace.restarted[0]
        // The survivors are the trained weights: not θ₀, and the whole schedule is replayed.
        #expect(restarted["1.weight"]! != zip(trace.initial["1.weight"]!, trace.masks[0]["1.weight"]!.floats).map { $1 == 0 ? 0 : $0 })
        #expect(trace.rates.filter { $0.phase == "level-1" }.map(\.step) == Array(0..<8))
    }

    @Test func sanityChecksKeepPerLayerCountsAndChangeWhatTheyShould() throws {
        let settings = #"{"name": "lottery-ticket", "levels": 2, "sanity": "SANITY"}"#
        let plain = try Self.run(settings.replacingOccurrences(of: "SANITY", with: "none"))
        let rearranged = try Self.run(settings.replacingOccurrences(of: "SANITY", with: "rearrange"))
        let reinit = try Self.run(settings.replacingOccurrences(of: "SANITY", with: "reinit"))
        let shuffled = try Self.run(settings.replacingOccurrences(of: "SANITY", with: "shuffle-weights"))
        let plainMask = plain.masks.last!
        // Rearranged: same count per layer, other positions; survivors start from θ₀ at the new positions.
        let r = MaskSet(model: try Self.model(masks: rearranged.restarted.last!, like: plainMask))
        for path in Self.prunable {
            #expect(r.keptCount(path) == plainMask.keptCount(path), "\(path): rearranged count differs")
            #expect(r[path]!.floats != plainMask[path]!.floats, "\(path): rearranging moved nothing")
            let start = rearranged.restarted.last![path]!, initial = rearranged.initial[path]!
            #expect(zip(start, initial).allSatisfy { $0 == 0 || $0 == $1 }, "\(path): rearranged ticket does not start from θ₀")
        }
        // Re-initialised: same mask as plain, different starting values.
        #expect(reinit.masks.last!["1.weight"]!.floats == plainMask["1.weight"]!.floats)
        #expect(reinit.restarted.last!["1.weight"]! != plain.restarted.last!["1.weight"]!)
        // Shuffled: the same multiset of values per layer, in other places.
        let a = plain.restarted.last!["1.weight"]!, b = shuffled.restarted.last!["1.weight"]!
        #expect(a != b && a.sorted() == b.sorted())
        // Random labels: the mask found differs from the clean one.
        let corrupted = try Self.run(settings.replacingOccurrences(of: "SANITY", with: "random-labels"))
        #expect(corrupted.masks.last!["1.weight"]!.floats != plainMask["1.weight"]!.floats)
    }

    /// The nonzero pattern of restarted values as masks (rearranged masks are on the model only
    /// after the event was recorded, so they are read from the restarted weights).
    static func model(masks values: [String: [Float]], like reference: MaskSet) throws -> any Model {
        var rng = RandomGenerator(seed: 1)
        let model = MLP.make(inputs: 64, hidden: [24, 12], classes: 10, rng: &rng)
        for path in reference.paths {
            let p = model.parameter(at: path)!
            p.mask = Tensor(shape: p.shape, scalars: values[path]!.map { $0 == 0 ? Float(0) : 1 })
        }
        return model
    }

    /// θ_k lives in the stash, so a run cancelled mid-way (before or after the rewind point is
    /// needed) and resumed from its snapshot ends bit-identical to an uninterrupted one.
    @Test(arguments: [("level-0", 5), ("level-1", 5), ("level-2", 4)])
    func resumedRunEqualsUninterruptedRun(_ phase: String, _ stopAt: Int) throws {
        let method = #"{"name": "lottery-ticket", "levels": 2, "rewind": "weights", "rewind_step": 3}"#
        var spec = try MethodInvariantTests.spec(method)
        spec.train.checkpointEvery = 2
        let data = try PreparedData.load(spec.dataset, batchSize: 32, seed: 3, directory: TestData.directory)
        let reference = try PipelineRunner.run(spec: spec, model: try data.makeModel(spec.model, seed: 3), data: data)
        let store = MemoryPipelineStore(), flag = CancellationFlag()
        #expect(throws: TrainingError.self) {
            try PipelineRunner.run(spec: spec, model: try data.makeModel(spec.model, seed: 3), data: data, store: store,
                                   cancellation: flag) { event in
                if case let .step(p, _, metrics) = event, p == phase, metrics.step + 1 == stopAt { flag.cancel() }
            }
        }
        let model = try data.makeModel(spec.model, seed: 3)
        let resumed = try PipelineRunner.run(spec: spec, model: model, data: data, store: store)
        #expect(resumed.phases == reference.phases)
        for path in Self.prunable { #expect(resumed.masks[path]!.floats == reference.masks[path]!.floats, "\(path) mask") }
        #expect(resumed.test.accuracy == reference.test.accuracy)
    }

    @Test func randomLabelDataKeepsInputsAndDrawsLabelsInRange() throws {
        let data = try PreparedData.load(DatasetSpec(name: "digits"), batchSize: 16, seed: 1, directory: TestData.directory)
        let base = data.loader.dataset
        let corrupted = RandomLabelDataset(base: base, seed: 9)
        #expect(corrupted.labels.allSatisfy { (0..<base.classCount).contains($0) })
        #expect(Double(zip(corrupted.labels, base.labels).filter { $0 == $1 }.count) / Double(base.count) < 0.25)
        let a = base.makeBatch(indices: [5, 1, 7], augmentation: nil), b = corrupted.makeBatch(indices: [5, 1, 7], augmentation: nil)
        #expect(a.inputs.floats == b.inputs.floats)
        #expect(b.labels == [corrupted.labels[5], corrupted.labels[1], corrupted.labels[7]])
        #expect(RandomLabelDataset(base: base, seed: 9).labels == corrupted.labels)
    }

    @Test func settingsAreChecked() {
        #expect(throws: PruningError.self) { try LotteryTicket.decode(settings: Data(#"{"levels": 3, "sparsity": 0.5}"#.utf8)) }
        #expect(throws: PruningError.self) { try LotteryTicket.decode(settings: Data(#"{"rewind": "init", "rewind_step": 5}"#.utf8)) }
        #expect(throws: PruningError.self) { try LotteryTicket.decode(settings: Data(#"{"fraction": 1}"#.utf8)) }
        #expect(throws: PruningError.self) { try LotteryTicket.decode(settings: Data(#"{"rewind": "sideways"}"#.utf8)) }
    }
}
