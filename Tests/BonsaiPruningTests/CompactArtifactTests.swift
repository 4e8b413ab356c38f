import Foundation
import Testing
import BonsaiPruning

/// A structured job's artifacts include `compact.safetensors`, which rebuilds into a smaller model
/// computing what the masked model computes.
@Suite struct CompactArtifactTests {
    @Test func filterPruningWritesARebuildableCompactModel() throws {
        let spec = try MethodInvariantTests.spec(#"{"name": "filter-l1", "ratio": 0.5}"#)
        let data = try PreparedData.load(spec.dataset, batchSize: 32, seed: 3, directory: TestData.directory)
        let model = try data.makeModel(spec.model, seed: 3)
        let result = try PipelineRunner.run(spec: spec, model: model, data: data)
        let report = try PruningReport.make(model: model, result: result, spec: spec, data: data)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bonsai-compact-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ArtifactWriter.write(model: model, result: result, report: report, spec: spec, to: directory)
        #expect(ArtifactWriter.files(in: directory).map(\.kind) == ["weights", "masks", "report", "compact"])

        let file = try SafetensorsFile(path: directory + "/compact.safetensors")
        let json = try #require(file.metadata["compaction"])
        let record = try JSONDecoder().decode(CompactionRecord.self, from: Data(json.utf8))
        let compact = try Compaction.rebuild(record: record, stateDict: try file.floatTensors())
        #expect(compact.parameterCount < model.parameterCount)
        let batch = data.test[0]
        let expected = model.forward(batch.input, context: .evaluation).doubles
        let actual = compact.forward(batch.input, context: .evaluation).doubles
        #expect(zip(expected, actual).allSatisfy { abs($0 - $1) <= 1e-4 }, "compact model differs from the masked model")
    }

    @Test func unstructuredMethodsWriteNoCompactModel() throws {
        let spec = try MethodInvariantTests.spec(#"{"name": "magnitude", "sparsity": 0.5}"#)
        let data = try PreparedData.load(spec.dataset, batchSize: 32, seed: 3, directory: TestData.directory)
        let model = try data.makeModel(spec.model, seed: 3)
        let result = try PipelineRunner.run(spec: spec, model: model, data: data)
        let report = try PruningReport.make(model: model, result: result, spec: spec, data: data)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bonsai-compact-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ArtifactWriter.write(model: model, result: result, report: report, spec: spec, to: directory)
        #expect(!ArtifactWriter.files(in: directory).map(\.kind).contains("compact"))
    }
}
