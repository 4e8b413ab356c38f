import Foundation
import Testing
import BonsaiPruning

/// SNIP, one-iteration SynFlow and GraSP scores of an MLP 12-10-8-3 against PyTorch (float64
/// reference, stored float32): `Fixtures/scores_mlp.safetensors`, see ../shared/fixtures/README.md.
@Suite struct InitScoreFixtureTests {
    static let layers = ["1.weight", "3.weight", "5.weight"]

    struct Loaded {
        let model: any Model
        let batch: LabeledBatch
        let file: SafetensorsFile
        func expected(_ name: String) throws -> [Double] { try file.tensor(name).doubles }
    }

    static func load() throws -> Loaded {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/scores_mlp.safetensors").path
        let file = try SafetensorsFile(path: path)
        var rng = RandomGenerator(seed: 0)
        let model = MLP.make(inputs: 12, hidden: [10, 8], classes: 3, rng: &rng)
        var state: [String: Tensor] = [:]
        for key in ["1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias"] { state[key] = try file.tensor("state." + key) }
        try model.loadStateDict(state)
        let batch = LabeledBatch(input: .dense(try file.tensor("input")), labels: try file.integers("labels"))
        return Loaded(model: model, batch: batch, file: file)
    }

    /// max |a − e| / max |e| over one tensor.
    static func relativeError(_ actual: [Double], _ expected: [Double]) -> Double {
        guard actual.count == expected.count else { return .infinity }
        var diff = 0.0, scale = 1e-30
        for i in actual.indices {
            diff = Swift.max(diff, Swift.abs(actual[i] - expected[i]))
            scale = Swift.max(scale, Swift.abs(expected[i]))
        }
        return diff / scale
    }

    static func expectMatches(_ scores: ScoreSet, prefix: String, _ f: Loaded, tolerance: Double = 1e-3) throws {
        for path in layers {
            let error = relativeError(scores.scores(path) ?? [], try f.expected(prefix + "." + path))
            #expect(error <= tolerance, "\(prefix) score of \(path): relative error \(error) exceeds \(tolerance)")
        }
    }

    @Test func snipMatchesPyTorch() throws {
        let f = try Self.load()
        let scores = SNIPScore.scores(f.model, paths: Self.layers, batches: [f.batch], training: true)
        try Self.expectMatches(scores, prefix: "snip", f)
    }

    @Test func synflowOneIterationMatchesPyTorch() throws {
        let f = try Self.load()
        let before = f.model.namedParameters().map { $0.parameter.value.floats }
        let scores = SynFlowScore.scores(f.model, paths: Self.layers, sampleShape: [12])
        try Self.expectMatches(scores, prefix: "synflow", f)
        // Scoring restores the model: signs, values and dtype.
        let after = f.model.namedParameters().map { $0.parameter.value }
        #expect(after.allSatisfy { $0.dtype == .float32 })
        #expect(after.map(\.floats) == before)
    }

    @Test func graspMatchesPyTorch() throws {
        let f = try Self.load()
        // The fixture is the exact −θ ⊙ Hg of the plain cross-entropy: one part, T = 1, no re-init.
        let scores = GraSPScore.scores(f.model, paths: Self.layers, parts: [f.batch], temperature: 1, training: true)
        try Self.expectMatches(scores, prefix: "grasp", f)
        #expect(f.model.namedParameters().allSatisfy { $0.parameter.value.dtype == .float32 })
    }

    @Test func graspSumsItsTwoHalvesLikeTheReference() throws {
        // g = Σ_h ∇L_h and Hg = H_{ΣL_h} g. Two equal halves of batch-mean losses sum to 2L (L the
        // full-batch mean), so g doubles, H doubles, and the score is 4× the full-batch one.
        let f = try Self.load()
        guard case let .dense(x) = f.batch.input else { return }
        let rows = x.shape[0] / 2
        let xs = x.doubles, width = x.shape[1]
        let halves = [0, 1].map { h in
            LabeledBatch(input: .dense(Tensor(shape: [rows, width], scalars: Array(xs[(h * rows * width)..<((h + 1) * rows * width)]))),
                         labels: Array(f.batch.labels[(h * rows)..<((h + 1) * rows)]))
        }
        let whole = GraSPScore.scores(f.model, paths: Self.layers, parts: [f.batch], temperature: 1, training: false)
        let split = GraSPScore.scores(f.model, paths: Self.layers, parts: halves, temperature: 1, training: false)
        for path in Self.layers {
            let error = Self.relativeError(split.scores(path)!, whole.scores(path)!.map { 4 * $0 })
            #expect(error <= 1e-5, "\(path): two halves vs 4 × whole batch, relative error \(error)")
        }
    }
}
