import Foundation
import Testing
@testable import BonsaiPruning

/// The sparse-kernel inference form equals the masked model on every zoo architecture; latency
/// statistics and the report's analysis section.
@Suite struct SparseInferenceTests {
    struct Arch: CustomTestStringConvertible, Sendable {
        var name: String, input: InputKind, options: ArchitectureOptions
        var testDescription: String { name }
    }

    static let archs: [Arch] = [
        Arch(name: "lenet300", input: .image(channels: 1, height: 8, width: 8), options: .init(hidden: [40, 20])),
        Arch(name: "lenet5", input: .image(channels: 1, height: 16, width: 16), options: .init()),
        Arch(name: "conv2", input: .image(channels: 3, height: 8, width: 8), options: .init()),
        Arch(name: "vgg11", input: .image(channels: 3, height: 16, width: 16), options: .init(width: 0.125)),
        Arch(name: "resnet20", input: .image(channels: 3, height: 8, width: 8), options: .init(width: 4)),
        Arch(name: "tinybert", input: .tokens(vocabulary: 30, maxLength: 6), options: .init(dim: 8, heads: 2, layers: 1)),
    ]

    @Test(arguments: archs)
    func sparseFormEqualsMaskedModel(_ arch: Arch) throws {
        let model = try FlopsTests.model(arch.name, input: arch.input, options: arch.options)
        try FlopsTests.randomMasks(model, density: 0.1)
        let sparse = SparseModel(model, maxDensity: 0.3)
        for batch in [1, 3] {
            let input = Latency.input(for: arch.input, batch: batch, seed: 9)
            let expected = Engine.withoutGrad { model.forward(input, context: .evaluation) }
            let actual = Engine.withThreads(2) { sparse.forward(input) }
            #expect(actual.shape == expected.shape)
            #expect(Latency.deviation(actual, expected) < 1e-4, "\(arch.name) batch \(batch)")
        }
        if arch.name == "tinybert" {
            #expect(!sparse.usesSparseKernels && sparse.layers.isEmpty)
        } else {
            #expect(sparse.usesSparseKernels)
            #expect(sparse.layers.allSatisfy { $0.sparse == ($0.density <= 0.3) })
        }
    }

    @Test func denseLayersStayDense() throws {
        let model = try FlopsTests.model("lenet300", input: .image(channels: 1, height: 8, width: 8), options: .init(hidden: [10]))
        try FlopsTests.randomMasks(model, density: 0.6)
        let sparse = SparseModel(model, maxDensity: 0.3)
        #expect(!sparse.usesSparseKernels && sparse.layers.allSatisfy { !$0.sparse })
    }

    @Test func percentilesAreNearestRank() {
        let s = LatencyStats(form: "x", batch: 1, threads: 1, samples: (1...10).map(Double.init).reversed())
        #expect(s.medianMs == 5.5 && s.p10Ms == 1 && s.p90Ms == 9 && s.minMs == 1 && s.maxMs == 10 && s.repetitions == 10)
        let odd = LatencyStats(form: "x", batch: 1, threads: 1, samples: [3, 1, 2])
        #expect(odd.medianMs == 2)
    }

    @Test func compareTimesAllFormsAndRestoresMasks() throws {
        let model = try FlopsTests.model("lenet300", input: .image(channels: 1, height: 8, width: 8), options: .init(hidden: [16]))
        try FlopsTests.randomMasks(model, density: 0.2)
        let before = MaskSet(model: model)
        var extraCalls = 0
        let extra = InferenceForm(name: "plugged") { input in extraCalls += 1; return model.forward(input, context: .evaluation) }
        let stats = Latency.compare(model, input: .image(channels: 1, height: 8, width: 8),
                                    settings: LatencySettings(repetitions: 4, warmup: 1, batchSizes: [1, 5]), extra: [extra])
        #expect(stats.map(\.form) == ["dense", "masked", "sparse", "plugged", "dense", "masked", "sparse", "plugged"])
        #expect(stats.allSatisfy { $0.repetitions == 4 && $0.maxDeviation < 1e-4 && $0.minMs <= $0.medianMs && $0.medianMs <= $0.maxMs })
        #expect(extraCalls == 2 * 5)
        let after = MaskSet(model: model)
        #expect(after.paths == before.paths && after.paths.allSatisfy { after[$0]!.floats == before[$0]!.floats })
    }

    @Test func reportCarriesFlopsAndOptionalLatency() throws {
        let (model, result, _) = try MethodInvariantTests.run(#"{"name": "magnitude", "sparsity": 0.9, "scope": "layerwise"}"#)
        let spec = try MethodInvariantTests.spec(#"{"name": "magnitude", "sparsity": 0.9}"#)
        let data = try PreparedData.load(spec.dataset, batchSize: 32, seed: 3, directory: TestData.directory)
        let plain = try PruningReport.make(model: model, result: result, spec: spec, data: data)
        let flops = try #require(plain.flops)
        #expect(flops.denseMACs == 64 * 24 + 24 * 12 + 12 * 10)
        #expect(flops.prunedMACs == model.namedParameters().filter { $0.parameter.role == .linearWeight }
            .reduce(0) { $0 + $1.parameter.value.floats.filter { $0 != 0 }.count })
        #expect(plain.latency == nil)
        let timed = try PruningReport.make(model: model, result: result, spec: spec, data: data,
                                           analysis: AnalysisOptions(latency: LatencySettings(repetitions: 3, warmup: 1)))
        #expect(timed.latency?.map(\.form) == ["dense", "masked", "sparse"])
        #expect(timed.sparseLayers?.count == 3)
        let json = try JSONEncoder().encode(timed)
        let decoded = try JSONDecoder().decode(PruningReport.self, from: json)
        #expect(decoded.flops == timed.flops && decoded.latency == timed.latency)
    }
}
