import Foundation
import Testing
import BonsaiPruning

/// The invariant suite every registered method must pass on a tiny seeded model (an MLP on the 8×8
/// digits): binary masks with the exact expected sparsity, monotone across pruning events, masked
/// weights exactly zero with zero gradient that optimizer steps (momentum and weight decay) do not
/// revive, same seed → same mask, and settings that survive a Codable round trip.
///
/// Each method lists its test settings and expected prunable-set sparsity in `Self.cases`; a test
/// fails if a registered method is missing there, so no method can skip the suite.
@Suite(.serialized) struct MethodInvariantTests {
    struct Case: Sendable {
        var settings: String
        /// Expected sparsity of the prunable set at the end (nil: method-defined, only checked ≥ 0).
        var sparsity: Double?
        /// Whether the sparsity is reached per tensor (pruned count Σ round(s·N_l)) or globally (round(s·N)).
        var layerwise = false
        /// The model (default: LeNet-300-100 with hidden widths [24, 12]); methods acting on
        /// batch-norm scales need a model that has them.
        var model: ModelSpec? = nil
    }

    static let cases: [String: Case] = [
        "magnitude": Case(settings: #"{"name": "magnitude", "sparsity": 0.7, "scope": "global", "iterations": 2}"#, sparsity: 0.7),
        // Rows of 1.weight (24 → 12) and 3.weight (12 → 6) with their bias entries: 930 of the 1980
        // entries under masks (the three weights and the two companion biases).
        "stability-pruning": Case(settings: #"{"name": "stability-pruning", "fractions": [0.5], "target": "random", "layers": ["1.weight", "3.weight"]}"#,
                                  sparsity: 930.0 / 1980.0),
        "gradual-magnitude": Case(settings: #"{"name": "gradual-magnitude", "sparsity": 0.6, "frequency": 2, "end_step": 6}"#, sparsity: 0.6, layerwise: true),
        "edge-popup": Case(settings: #"{"name": "edge-popup", "keep": 0.3}"#, sparsity: 0.7, layerwise: true),
        "hydra": Case(settings: #"{"name": "hydra", "keep": 0.25, "loss": "pgd", "epsilon": 0.1, "step_size": 0.05, "steps": 2, "prune_epochs": 1}"#,
                      sparsity: nil),
        "movement": Case(settings: #"{"name": "movement", "mode": "hard", "remaining": 0.3, "warmup_steps": 1}"#, sparsity: 0.7, layerwise: true),
        "grda": Case(settings: #"{"name": "grda", "c": 0.05, "mu": 0.7}"#, sparsity: nil),
        "lottery-ticket": Case(settings: #"{"name": "lottery-ticket", "sparsity": 0.5, "rewind": "weights", "rewind_step": 2}"#, sparsity: 0.5),
        "random": Case(settings: #"{"name": "random", "sparsity": 0.6, "scope": "layerwise"}"#, sparsity: 0.6, layerwise: true),
        "random-ticket": Case(settings: #"{"name": "random-ticket", "sparsity": 0.7}"#, sparsity: 0.7),
        "hybrid-ticket": Case(settings: #"{"name": "hybrid-ticket", "sparsity": 0.7, "sanity": "none"}"#, sparsity: 0.7),
        "snip": Case(settings: #"{"name": "snip", "sparsity": 0.8, "samples": 40, "batch_size": 16}"#, sparsity: 0.8),
        "grasp": Case(settings: #"{"name": "grasp", "sparsity": 0.75, "samples_per_class": 3}"#, sparsity: 0.75),
        "synflow": Case(settings: #"{"name": "synflow", "sparsity": 0.9, "iterations": 10, "scope": "layerwise"}"#, sparsity: 0.9, layerwise: true),
        // Structured methods: the element sparsity depends on the layer shapes (rows, bias, BN and
        // consumer columns), so it is not given here; exact channel counts are in StructuredMethodTests.
        "filter-l1": Case(settings: #"{"name": "filter-l1", "ratio": 0.5}"#, sparsity: nil),
        "network-slimming": Case(settings: #"{"name": "network-slimming", "penalty": 1e-3, "percent": 0.4}"#, sparsity: nil,
                                 model: ModelSpec(architecture: "resnet20", options: ArchitectureOptions(width: 4))),
        "scop": Case(settings: #"{"name": "scop", "ratio": 0.5, "knockoff_steps": 3, "covariance_samples": 200}"#, sparsity: nil, model: ModelSpec(architecture: "resnet20", options: ArchitectureOptions(width: 4))),
        "greedy-forward": Case(settings: #"{"name": "greedy-forward", "candidates": 8, "eval_samples": 200, "batch_size": 32, "intermediate_epochs": 0.05}"#, sparsity: nil),
        "polarization": Case(settings: #"{"name": "polarization", "lambda": 1e-3, "t": 1.2}"#, sparsity: nil,
                             model: ModelSpec(architecture: "resnet20", options: ArchitectureOptions(width: 4))),
        "stripe-wise": Case(settings: #"{"name": "stripe-wise", "penalty": 1e-3, "stripe_sparsity": 0.5}"#, sparsity: nil, model: ModelSpec(architecture: "conv2")),
        "runtime-channel-rl": Case(settings: #"{"name": "runtime-channel-rl", "hidden": 8, "agent_epochs": 1, "base_epochs": 1, "max_batches": 3}"#,
                                   sparsity: nil, model: ModelSpec(architecture: "conv2")),
    ]

    static func spec(_ method: String, seed: UInt64 = 3, model: ModelSpec? = nil) throws -> PipelineSpec {
        PipelineSpec(model: model ?? ModelSpec(architecture: "lenet300", options: ArchitectureOptions(hidden: [24, 12])),
                     dataset: DatasetSpec(name: "digits", validation: 0.1),
                     methodJSON: Data(method.utf8),
                     train: TrainingConfig(epochs: nil, steps: 8, batchSize: 32, optimizer: OptimizerConfig(name: "sgd", lr: 0.05, momentum: 0.9)),
                     finetune: PhaseOverrides(steps: 4), seed: seed)
    }

    /// Runs a method, recording the masks after every pruning event.
    static func run(_ method: String, seed: UInt64 = 3, model modelSpec: ModelSpec? = nil) throws -> (model: any Model, result: PipelineResult, history: [MaskSet]) {
        let spec = try spec(method, seed: seed, model: modelSpec)
        try spec.validate()
        let data = try PreparedData.load(spec.dataset, batchSize: 32, seed: seed, directory: TestData.directory)
        let model = try data.makeModel(spec.model, seed: seed)
        var history: [MaskSet] = []
        let result = try PipelineRunner.run(spec: spec, model: model, data: data) { event in
            if case .pruned = event { history.append(MaskSet(model: model)) }
        }
        return (model, result, history)
    }

    @Test func everyRegisteredMethodHasACase() {
        for id in PruningRegistry.ids { #expect(Self.cases[id] != nil, "method '\(id)' is not in the invariant suite") }
    }

    @Test(arguments: PruningRegistry.ids)
    func invariants(_ id: String) throws {
        guard let testCase = Self.cases[id] else { return }
        let (model, result, history) = try Self.run(testCase.settings, model: testCase.model)
        let masks = result.masks
        #expect(masks.isBinary, "\(id): masks are not 0/1")
        if let expected = testCase.sparsity {
            let (total, kept) = masks.counts
            let target = testCase.layerwise
                ? masks.paths.reduce(0) { $0 + Int((expected * Double(masks[$1]!.count)).rounded()) }
                : Int((expected * Double(total)).rounded())
            #expect(total - kept == target, "\(id): \(total - kept) of \(total) pruned, expected \(target)")
        }
        for (earlier, later) in zip(history, history.dropFirst()) {
            #expect(later.isMonotone(after: earlier), "\(id): a pruning event revived a weight")
        }
        // Masked weights are zero, get zero gradient, and stay zero through optimizer steps.
        let optimizer = try OptimizerConfig(name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 5e-4)
            .make(parameters: model.namedParameters())
        let data = try PreparedData.load(DatasetSpec(name: "digits"), batchSize: 32, seed: 1, directory: TestData.directory)
        for step in 0..<3 {
            let batch = try data.loader.batch(epoch: 0, index: step)
            optimizer.zeroGrad()
            crossEntropy(logits: model.forward(batch.input, context: ForwardContext(training: true)), labels: batch.labels).backward()
            for (path, mask) in masks.masks {
                let parameter = model.parameter(at: path)!
                let m = mask.floats, w = parameter.value.floats, g = parameter.grad?.floats ?? []
                for i in m.indices where m[i] == 0 {
                    #expect(w[i] == 0, "\(id): masked \(path)[\(i)] is \(w[i])")
                    #expect(g.isEmpty || g[i] == 0, "\(id): masked \(path)[\(i)] has gradient \(g[i])")
                }
            }
            optimizer.step()
        }
        for (path, mask) in masks.masks {
            let w = model.parameter(at: path)!.value.floats
            #expect(zip(mask.floats, w).allSatisfy { $0 != 0 || $1 == 0 }, "\(id): \(path) revived after optimizer steps")
        }
    }

    @Test(arguments: PruningRegistry.ids)
    func sameSeedSameMask(_ id: String) throws {
        guard let testCase = Self.cases[id] else { return }
        let a = try Self.run(testCase.settings, model: testCase.model).result.masks
        let b = try Self.run(testCase.settings, model: testCase.model).result.masks
        #expect(a.paths == b.paths)
        for path in a.paths { #expect(a[path]!.floats == b[path]!.floats, "\(id): \(path) differs between runs with one seed") }
    }

    @Test(arguments: PruningRegistry.ids)
    func settingsRoundTripAndSchemaCoversThem(_ id: String) throws {
        guard let testCase = Self.cases[id] else { return }
        let type = try PruningRegistry.method(id)
        let method = try type.decode(settings: Data(testCase.settings.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let encoded = try encoder.encode(AnyEncodable(method.settings))
        let again = try type.decode(settings: encoded)
        #expect(String(decoding: try encoder.encode(AnyEncodable(again.settings)), as: UTF8.self)
                == String(decoding: encoded, as: UTF8.self))
        // Every key the settings encode is a schema property.
        let keys = (try JSONSerialization.jsonObject(with: type.defaultSettingsJSON) as? [String: Any])?.keys ?? [String: Any]().keys
        let schemaKeys = Set(type.settingsSchema.propertyNames)
        for key in keys { #expect(schemaKeys.contains(key), "\(id): '\(key)' is not in the schema") }
        #expect(throws: PruningError.self) { try type.decode(settings: Data(#"{"no_such_setting": 1}"#.utf8)) }
    }

    @Test func allOnesMaskChangesNothing() throws {
        var rng = RandomGenerator(seed: 5)
        let model = MLP.make(inputs: 8, hidden: [6], classes: 3, rng: &rng)
        let x = Tensor.normal([4, 8], using: &rng)
        let before = model.forward(.dense(x), context: .evaluation).floats
        try MaskSet.dense(model, paths: ["1.weight", "3.weight"]).apply(to: model)
        #expect(model.forward(.dense(x), context: .evaluation).floats == before)
    }
}

struct AnyEncodable: Encodable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: Encoder) throws { try value.encode(to: encoder) }
}

enum TestData {
    /// The repository's shipped `data/` folder.
    static var directory: DataDirectory {
        get throws {
            try DataDirectory(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("data").path)
        }
    }
}
