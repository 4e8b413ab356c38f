import ArgumentParser
import BonsaiNN
import Foundation

/// `bonsai train spec.json`: one dense training run from a JSON spec, with a progress bar.
///
/// ```json
/// {"model": {"architecture": "lenet300"}, "dataset": {"name": "mnist"},
///  "train": {"epochs": 2, "batch_size": 128, "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}},
///  "seed": 1, "threads": 2}
/// ```
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a zoo model on a data set from a JSON spec.")

    @Argument(help: "Path of the JSON training spec.")
    var spec: String

    @Option(help: "Data directory (default: BONSAI_DATA_DIR or the repository's data/).")
    var dataDir: String?

    @Option(help: "Write the trained state dict (safetensors) here.")
    var output: String?

    func run() throws {
        let spec = try CLIInput.decode(TrainSpec.self, fromFile: self.spec)
        try spec.validate()
        let seed = spec.seed ?? 0
        Engine.setThreads(spec.threads ?? 1)
        let directory = try dataDir.map { try DataDirectory(path: $0) }
        let data = try PreparedData.load(spec.dataset, batchSize: spec.train.batchSize, seed: seed, directory: directory)
        let model = try data.makeModel(spec.model, seed: seed)
        let trainer = try Trainer(model: model, config: spec.train, seed: seed)
        let total = spec.train.totalSteps(batchesPerEpoch: data.loader.batchesPerEpoch)
        print("training \(spec.model.architecture) (\(model.parameterCount) parameters) on \(spec.dataset.name): "
              + "\(data.loader.examplesPerEpoch) examples/epoch, \(total) steps, \(Engine.threads) thread(s)")
        var bar = ProgressBar(total: total)
        try trainer.run(data: data.loader, evaluation: data.validation ?? data.test) { event in
            switch event {
            case let .step(m): bar.update(step: m.step + 1, loss: m.loss, accuracy: m.accuracy, rate: m.examplesPerSecond)
            case let .epoch(m):
                bar.finishLine()
                let eval = m.evaluation.map { String(format: "  eval loss %.4f accuracy %.2f%%", $0.loss, 100 * $0.accuracy) } ?? ""
                print(String(format: "epoch %d: train loss %.4f accuracy %.2f%%", m.epoch + 1, m.trainLoss, 100 * m.trainAccuracy) + eval)
            case .checkpoint: break
            }
        }
        let test = Evaluation.run(model, batches: data.test)
        print(String(format: "test: loss %.4f accuracy %.2f%% (%d examples)", test.loss, 100 * test.accuracy, test.examples))
        if let output {
            try model.saveStateDict(to: output, metadata: ["architecture": spec.model.architecture, "dataset": spec.dataset.name])
            print("saved \(output)")
        }
    }
}

/// A one-line progress bar on standard error: `[#####.....] 50% step 10/20 loss 0.31 acc 91.2% 5120 samples/s`,
/// redrawn at most ten times a second, and only when standard error is a terminal (logs stay clean).
struct ProgressBar {
    let total: Int
    private var smoothedRate = 0.0
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private let interactive = isatty(2) != 0

    init(total: Int) { self.total = Swift.max(total, 1) }

    mutating func update(step: Int, loss: Double, accuracy: Double, rate: Double) {
        smoothedRate = smoothedRate == 0 ? rate : 0.9 * smoothedRate + 0.1 * rate
        guard interactive, step == total || ContinuousClock.now - lastDraw > .milliseconds(100) else { return }
        lastDraw = ContinuousClock.now
        let width = 30, filled = width * step / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = String(format: "\r[%@] %3d%% step %d/%d loss %.4f acc %5.1f%% %.0f samples/s",
                          bar, 100 * step / total, step, total, loss, 100 * accuracy, smoothedRate)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finishLine() { if interactive { FileHandle.standardError.write(Data("\n".utf8)) } }
}

/// Reading user files for the CLI, with errors that name the file and the JSON problem.
enum CLIInput {
    static func decode<T: Decodable>(_ type: T.Type, fromFile path: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ValidationError("\(path): missing field '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw ValidationError("\(path): wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
        } catch let DecodingError.dataCorrupted(context) {
            throw ValidationError("\(path): invalid JSON at '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
        }
    }
}
