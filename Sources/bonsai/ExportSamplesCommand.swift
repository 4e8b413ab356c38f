import ArgumentParser
import BonsaiNN
import Foundation

/// `bonsai export-samples DIR`: for every zoo architecture, writes a state dict (`NAME.safetensors`,
/// trained for one step so batch-norm statistics are not the defaults) and an input with Bonsai's
/// eval-mode logits (`NAME.io.safetensors`). `benchmarks/pytorch_compat.py` loads each state dict
/// into the PyTorch reference model with `load_state_dict(strict=True)` and compares the logits.
struct ExportSamplesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-samples", abstract: "Write zoo state dicts and reference logits for the PyTorch compatibility check.")

    @Argument(help: "Output folder.")
    var directory: String

    func run() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in ModelZoo.architectures {
            var rng = RandomGenerator(seed: 11)
            let isText = name == "tinybert"
            let input: InputKind = isText ? .tokens(vocabulary: 100, maxLength: 16)
                : (name.hasPrefix("lenet") ? .image(channels: 1, height: 28, width: 28) : .image(channels: 3, height: 32, width: 32))
            let options = name == "tinybert" ? ArchitectureOptions(dim: 32, heads: 2, layers: 2) : ArchitectureOptions()
            let model = try ModelZoo.make(name, input: input, classes: 10, options: options, rng: &rng)
            let batch: ModelInput, extra: [String: SafetensorsValue]
            if isText {
                let ids = (0..<(3 * 16)).map { _ in Int(rng.next() % 100) }
                let mask = (0..<(3 * 16)).map { $0 % 16 < 12 || $0 < 16 ? 1 : 0 }
                batch = .tokens(TokenBatch(ids: ids, mask: mask, batch: 3, length: 16))
                extra = ["input": .int64(ids, shape: [3, 16]), "attention_mask": .int64(mask, shape: [3, 16])]
            } else {
                let shape: [Int] = name.hasPrefix("lenet") ? [3, 1, 28, 28] : [3, 3, 32, 32]
                let x = Tensor.normal(shape, using: &rng)
                batch = .dense(x)
                extra = ["input": .tensor(x)]
            }
            // One training step so weights and batch-norm running statistics are not initial values.
            let trainer = try Trainer(model: model, config: TrainingConfig(epochs: 1, batchSize: 3,
                                                                           optimizer: OptimizerConfig(name: "sgd", lr: 0.01)), seed: 1)
            _ = try trainer.trainStep(LabeledBatch(input: batch, labels: [1, 2, 3]))
            let logits = model.forward(batch, context: .evaluation)
            let base = (directory as NSString).appendingPathComponent(name)
            try model.saveStateDict(to: base + ".safetensors", metadata: ["architecture": name])
            var io = extra
            io["logits"] = .tensor(logits)
            try SafetensorsWriter.write(io, metadata: ["architecture": name], to: base + ".io.safetensors")
            print("\(name): \(model.parameterCount) parameters")
        }
    }
}
