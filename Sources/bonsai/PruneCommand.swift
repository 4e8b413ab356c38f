import ArgumentParser
import BonsaiPruning
import Foundation

/// `bonsai prune spec.json --output DIR`: one pruning pipeline from a job spec, with a progress
/// bar. Resumable: run the same command again after an interruption and it continues from the last
/// snapshot in DIR. Writes `weights.safetensors` (masks applied, PyTorch names), `masks.safetensors`
/// and `report.json`.
struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Run a pruning pipeline from a JSON job spec.")

    @Argument(help: "Path of the JSON job spec (the same document POST /v1/jobs takes).")
    var spec: String

    @Option(help: "Output folder (also holds the resumable snapshot).")
    var output: String = "bonsai-prune-out"

    @Option(help: "Data directory (default: BONSAI_DATA_DIR or the repository's data/).")
    var dataDir: String?

    @Option(help: "Time inference (dense, masked, sparse kernels) this many times per form for the report (0: off).")
    var latencyRepetitions: Int = 0

    @Option(help: "Batch sizes for the latency measurement, comma-separated.")
    var latencyBatches: String = "1"

    func run() throws {
        guard let json = FileManager.default.contents(atPath: spec) else { throw ValidationError("cannot read \(spec)") }
        let spec: PipelineSpec
        do { spec = try PipelineSpec.decode(json) } catch let error as PruningError {
            throw ValidationError("\(self.spec): \(error)")
        }
        Engine.setThreads(spec.threads ?? 1)
        let store = try DirectoryPipelineStore(directory: output)
        let directory = try dataDir.map { try DataDirectory(path: $0) }
        var bar: ProgressBar?
        var planned = 0
        let (model, data, result) = try PipelineRunner.run(spec: spec, directory: directory, store: store) { event in
            switch event {
            case let .phaseStarted(name, steps):
                bar?.finishLine()
                print("phase \(name)" + (steps > 0 ? " (\(steps) steps)" : ""))
                planned = steps
                bar = steps > 0 ? ProgressBar(total: steps) : nil
            case let .step(_, _, m):
                bar?.update(step: Swift.min(m.step + 1, planned), loss: m.loss, accuracy: m.accuracy, rate: m.examplesPerSecond)
            case let .pruned(e):
                bar?.finishLine()
                print(String(format: "  %@: sparsity %.2f%%, accuracy %.2f%% → %.2f%% (instability %.4f)",
                             e.name, 100 * e.sparsity, 100 * e.accuracyBefore, 100 * e.accuracyAfter, e.instability))
            case let .message(text): print("  \(text)")
            case .epoch, .phaseCompleted, .checkpointed: break
            }
        }
        bar?.finishLine()
        let batches = latencyBatches.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let analysis = AnalysisOptions(latency: LatencySettings(repetitions: Swift.max(0, latencyRepetitions),
                                                                batchSizes: batches.isEmpty ? [1] : batches,
                                                                threads: spec.threads ?? 1))
        let report = try PruningReport.make(model: model, result: result, spec: spec, data: data, analysis: analysis)
        if let f = report.flops {
            print(String(format: "MACs per sample: dense %d, pruned %d (%.2f× fewer)", f.denseMACs, f.prunedMACs, f.reduction))
        }
        for l in report.latency ?? [] {
            print(String(format: "latency %@ batch %d: median %.3f ms (p10 %.3f, p90 %.3f)", l.form, l.batch, l.medianMs, l.p10Ms, l.p90Ms))
        }
        try ArtifactWriter.write(model: model, result: result, report: report, spec: spec, to: output)
        print(String(format: "test accuracy %.2f%%, prunable sparsity %.2f%%; wrote %@", 100 * result.test.accuracy,
                     100 * result.masks.sparsity, output))
    }
}
