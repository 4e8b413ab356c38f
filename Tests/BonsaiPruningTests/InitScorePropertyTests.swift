import Foundation
import Testing
import BonsaiPruning

/// The properties METHODS.md §18 items 3 and 4 ask of SNIP, GraSP and SynFlow.
@Suite struct InitScorePropertyTests {
    /// A ReLU MLP without biases (the setting of SynFlow's conservation law).
    static func biasFreeMLP(_ widths: [Int], seed: UInt64) -> Sequential {
        var rng = RandomGenerator(seed: seed)
        var layers: [any UnaryLayer] = [Flatten()]
        for l in 0..<(widths.count - 1) {
            if l > 0 { layers.append(ReLU()) }
            layers.append(Linear(widths[l], widths[l + 1], bias: false, rng: &rng))
        }
        return Sequential(layers)
    }

    static func weightPaths(_ model: Module) -> [String] {
        model.namedParameters().filter { $0.parameter.role == .linearWeight }.map(\.path)
    }

    // MARK: SynFlow

    @Test func synflowConservesFlowPerLayerAndPerNeuron() throws {
        // Random signs: SynFlow linearises (|θ|), so the law must hold for the original weights too.
        let model = Self.biasFreeMLP([20, 50, 40, 30, 10], seed: 11)
        let paths = Self.weightPaths(model)
        let (scores, flow) = SynFlowScore.scoresAndFlow(model, paths: paths, sampleShape: [20])
        #expect(flow > 0)
        for path in paths {
            let sum = scores.scores(path)!.reduce(0, +)
            #expect(Swift.abs(sum - flow) <= 1e-10 * flow, "layer \(path): score sum \(sum) vs R = \(flow)")
        }
        // Per hidden neuron j of layer l: Σ_i S_l[j, i] (incoming) = Σ_o S_{l+1}[o, j] (outgoing).
        for (incoming, outgoing) in zip(paths, paths.dropFirst()) {
            let sIn = scores.scores(incoming)!, sOut = scores.scores(outgoing)!
            let shapeIn = model.parameter(at: incoming)!.shape, shapeOut = model.parameter(at: outgoing)!.shape
            for j in 0..<shapeIn[0] {
                let inSum = (0..<shapeIn[1]).reduce(0.0) { $0 + sIn[j * shapeIn[1] + $1] }
                let outSum = (0..<shapeOut[0]).reduce(0.0) { $0 + sOut[$1 * shapeOut[1] + j] }
                #expect(Swift.abs(inSum - outSum) <= 1e-10 * flow, "neuron \(j) after \(incoming): in \(inSum) vs out \(outSum)")
            }
        }
    }

    @Test func synflowMasksIgnoreSignsAndPerLayerScale() throws {
        let paths = ["1.weight", "3.weight", "5.weight"]
        let reference = Self.biasFreeMLP([16, 24, 12, 4], seed: 5)
        let masks = SynFlowScore.iterativeMasks(reference, paths: paths, sampleShape: [16], sparsity: 0.9, iterations: 20,
                                                schedule: .exponential, scope: .global)
        // Every weight's sign flipped.
        let flipped = Self.biasFreeMLP([16, 24, 12, 4], seed: 5)
        for path in paths { let p = flipped.parameter(at: path)!; p.assign(p.value.scaled(by: -1)) }
        // One layer scaled by 2 (exact in floating point: every score doubles, the ranking stays).
        let scaled = Self.biasFreeMLP([16, 24, 12, 4], seed: 5)
        let p = scaled.parameter(at: "3.weight")!
        p.assign(p.value.scaled(by: 2))
        for other in [flipped, scaled] {
            let m = SynFlowScore.iterativeMasks(other, paths: paths, sampleShape: [16], sparsity: 0.9, iterations: 20,
                                                schedule: .exponential, scope: .global)
            for path in paths { #expect(m[path]!.floats == masks[path]!.floats, "\(path): mask changed") }
        }
        #expect(masks.counts.kept == masks.counts.total - Int((0.9 * Double(masks.counts.total)).rounded()))
    }

    @Test func synflowMasksDoNotDependOnData() throws {
        let settings = #"{"name": "synflow", "sparsity": 0.95, "iterations": 15, "train": false}"#
        var results: [MaskSet] = []
        for dataSeed: UInt64 in [1, 2] {
            let spec = try MethodInvariantTests.spec(settings, seed: dataSeed)
            let data = try PreparedData.load(spec.dataset, batchSize: 32, seed: dataSeed, directory: TestData.directory)
            let model = try data.makeModel(spec.model, seed: 7)
            results.append(try PipelineRunner.run(spec: spec, model: model, data: data).masks)
        }
        #expect(results[0].paths == results[1].paths)
        for path in results[0].paths {
            #expect(results[0][path]!.floats == results[1][path]!.floats, "\(path): SynFlow mask depends on the data seed")
        }
    }

    @Test func synflowLinearisesBatchNormInEvalModeAndRestoresIt() throws {
        // Linear(3→4) → BN(4) → ReLU → Linear(4→2); R = Σ_o Σ_j |W2|_oj · relu(bn(h_j)) with
        // h = |W1|·1 + |b1|, bn(h) = (h − |μ|)/√(|σ²| + eps)·|γ| + |β|, all from the absolute values.
        var rng = RandomGenerator(seed: 3)
        let bn = BatchNorm(4)
        let model = Sequential([Flatten(), Linear(3, 4, rng: &rng), bn, ReLU(), Linear(4, 2, rng: &rng)])
        bn.weight.assign(Tensor(shape: [4], scalars: [Float(-0.5), 1.5, -2, 0.7]))
        bn.bias.assign(Tensor(shape: [4], scalars: [Float(0.1), -0.2, 0.3, -0.4]))
        bn.runningMean.value = .tensor(Tensor(shape: [4], scalars: [Float(-0.3), 0.2, -0.1, 0.4]))
        bn.runningVar.value = .tensor(Tensor(shape: [4], scalars: [Float(0.5), 2, 1.5, 0.8]))
        let state = model.namedParameters().map { $0.parameter.value.floats } + [bn.runningMean.tensor!.floats, bn.runningVar.tensor!.floats]
        let (_, flow) = SynFlowScore.scoresAndFlow(model, paths: ["1.weight", "4.weight"], sampleShape: [3])

        let w1 = model.parameter(at: "1.weight")!.value.doubles.map(Swift.abs), b1 = model.parameter(at: "1.bias")!.value.doubles.map(Swift.abs)
        let w2 = model.parameter(at: "4.weight")!.value.doubles.map(Swift.abs), b2 = model.parameter(at: "4.bias")!.value.doubles.map(Swift.abs)
        let gamma = bn.weight.value.doubles.map(Swift.abs), beta = bn.bias.value.doubles.map(Swift.abs)
        let mu = bn.runningMean.tensor!.doubles.map(Swift.abs), variance = bn.runningVar.tensor!.doubles.map(Swift.abs)
        var expected = 0.0
        for o in 0..<2 {
            var y = b2[o]
            for j in 0..<4 {
                let h = (0..<3).reduce(b1[j]) { $0 + w1[j * 3 + $1] }
                let normalized = (h - mu[j]) / (variance[j] + bn.eps).squareRoot() * gamma[j] + beta[j]
                y += w2[o * 4 + j] * Swift.max(normalized, 0)
            }
            expected += y
        }
        #expect(Swift.abs(flow - expected) <= 1e-6 * expected, "R = \(flow), expected \(expected)")
        let after = model.namedParameters().map { $0.parameter.value.floats } + [bn.runningMean.tensor!.floats, bn.runningVar.tensor!.floats]
        #expect(after == state, "scoring changed the model's state")
        #expect(bn.runningMean.tensor!.dtype == .float32 && model.parameter(at: "1.weight")!.value.dtype == .float32)
    }

    @Test func synflowKeepsEveryLayerWhereMagnitudeCollapses() throws {
        // MLP 64-100-100-10 at compression 1000 (17 of 17 400 weights kept).
        var rng = RandomGenerator(seed: 2)
        let model = MLP.make(inputs: 64, hidden: [100, 100], classes: 10, rng: &rng)
        let paths = ["1.weight", "3.weight", "5.weight"]
        let sparsity = 1 - 1.0 / 1000
        let synflow = SynFlowScore.iterativeMasks(model, paths: paths, sampleShape: [1, 8, 8], sparsity: sparsity,
                                                  iterations: 100, schedule: .exponential, scope: .global)
        #expect(MaskConnectivity.emptyLayers(synflow, layers: paths).isEmpty, "SynFlow emptied \(MaskConnectivity.emptyLayers(synflow, layers: paths))")
        #expect(MaskConnectivity.isConnected(synflow, layers: paths), "SynFlow left no input→output path")
        let magnitude = TopK.select(MagnitudeScore.scores(model, paths: paths), sparsity: sparsity, scope: .global, model: model)
        #expect(!MaskConnectivity.emptyLayers(magnitude, layers: paths).isEmpty, "magnitude at init did not collapse here")
        #expect(!MaskConnectivity.isConnected(magnitude, layers: paths))
    }

    // MARK: SNIP

    @Test func snipScoreIsTheGradientThroughTheMask() throws {
        // ∂L(c ⊙ w)/∂c at c = 1 equals g ⊙ w, entry by entry (Float64 throughout).
        let f = try InitScoreFixtureTests.load()
        let model = f.model, paths = InitScoreFixtureTests.layers
        for (_, p) in model.namedParameters() { p.value = p.value.detached().cast(to: .float64).detached().requiringGrad() }
        let batch = LabeledBatch(input: f.batch.input.castForTest(), labels: f.batch.labels)
        let sensitivities = SNIPScore.sensitivities(model, paths: paths, batches: [batch], training: true)

        let swap = ModelStateSwap(model)
        defer { swap.restore() }
        let gates = paths.map { Tensor.ones(model.parameter(at: $0)!.shape, dtype: .float64).requiringGrad() }
        for (path, gate) in zip(paths, gates) {
            let p = model.parameter(at: path)!
            swap.setValue(of: p, to: p.value.detached() * gate)
        }
        let gateGrads = Engine.withGrad {
            gradients(of: crossEntropy(logits: model.forward(batch.input, context: ForwardContext(training: true)), labels: batch.labels),
                      withRespectTo: gates)
        }
        for (path, grad) in zip(paths, gateGrads) {
            let error = InitScoreFixtureTests.relativeError(grad.doubles, sensitivities.scores(path)!)
            #expect(error <= 1e-12, "\(path): ∂L/∂c differs from g ⊙ w by \(error)")
        }
    }

    // MARK: GraSP

    @Test func graspPrunesWeightsWhoseRemovalKeepsGradientFlowAndFlippingTheSignFlipsIt() throws {
        // Shrinking weight j, θ → θ − t·θ_j e_j, changes ‖g‖² at rate −2θ_j(Hg)_j = 2S_j. GraSP
        // removes the largest S (removal preserves or raises gradient flow) and keeps the most
        // negative S (removal would cut gradient flow); the opposite convention swaps the two.
        let f = try InitScoreFixtureTests.load()
        let model = f.model, paths = InitScoreFixtureTests.layers
        for (_, p) in model.namedParameters() { p.value = p.value.detached().cast(to: .float64).detached().requiringGrad() }
        let batch = LabeledBatch(input: f.batch.input.castForTest(), labels: f.batch.labels)
        let scores = GraSPScore.scores(model, paths: paths, parts: [batch], temperature: 1, training: false)

        let parameters = paths.map { model.parameter(at: $0)! }
        let theta = parameters.map { $0.value.detached() }
        func gradientNormSquared(_ weights: [Tensor]) -> Double {
            let swap = ModelStateSwap(model)
            defer { swap.restore() }
            let leaves = weights.map { $0.requiringGrad() }
            for (p, w) in zip(parameters, leaves) { swap.setValue(of: p, to: w) }
            let g = Engine.withGrad {
                gradients(of: crossEntropy(logits: model.forward(batch.input, context: .evaluation), labels: batch.labels), withRespectTo: leaves)
            }
            return g.reduce(0) { $0 + $1.doubles.reduce(0) { $0 + $1 * $1 } }
        }
        let all = scores.entries.flatMap(\.scores)
        let scale = all.map(Swift.abs).max() ?? 1
        var rates: [Double] = []
        let h = 1e-5
        for (t, path) in paths.enumerated() {
            for j in 0..<theta[t].count {
                func shrunk(_ step: Double) -> [Tensor] {
                    var ws = theta
                    var values = ws[t].doubles
                    values[j] -= step * values[j]
                    ws[t] = Tensor(shape: ws[t].shape, scalars: values)
                    return ws
                }
                let rate = (gradientNormSquared(shrunk(h)) - gradientNormSquared(shrunk(-h))) / (2 * h)
                rates.append(rate)
                let s = scores.scores(path)![j]
                #expect(Swift.abs(rate - 2 * s) <= 1e-4 * 2 * scale, "\(path)[\(j)]: d‖g‖²/dt = \(rate), 2S = \(2 * s)")
            }
        }
        let n = all.count
        let oneWeight = 1.0 / Double(n)
        let grasp = TopK.select(GraSPScore.keepScores(scores), sparsity: oneWeight, scope: .global)
        let flipped = TopK.select(scores, sparsity: oneWeight, scope: .global)
        let prunedByGraSP = paths.flatMap { grasp[$0]!.floats }.firstIndex(of: 0)!
        let prunedByFlipped = paths.flatMap { flipped[$0]!.floats }.firstIndex(of: 0)!
        #expect(prunedByGraSP == all.indices.max { all[$0] < all[$1] }!)
        #expect(prunedByFlipped == all.indices.min { all[$0] < all[$1] }!)
        #expect(rates[prunedByGraSP] > 0, "GraSP pruned a weight whose removal lowers gradient flow")
        #expect(rates[prunedByFlipped] < 0, "the flipped convention should prune a flow-carrying weight")
        #expect(paths.flatMap { flipped[$0]!.floats }[prunedByGraSP] == 1, "flipping the sign must flip the decision")
    }
}

extension ModelInput {
    func castForTest() -> ModelInput {
        if case let .dense(t) = self { return .dense(t.cast(to: .float64).detached()) }
        return self
    }
}
