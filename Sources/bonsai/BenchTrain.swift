import ArgumentParser
import BonsaiNN
import Foundation

/// `bonsai bench train --model NAME [--batch N] [--threads N]`: training samples/s of a zoo model on
/// random data of its data set's shape (SGD with momentum 0.9, cross-entropy), the median of several
/// timing windows after a warm-up — exactly what `benchmarks/torch_train.py` measures in PyTorch.
/// The last line is `… samples/s`.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Measure training throughput of a zoo model on random data.")

    @Option(help: "Architecture (lenet300, lenet5, conv2/4/6, vgg11/16, resnet20/56, tinybert).")
    var model: String

    @Option(help: "Batch size.")
    var batch: Int = 64

    @Option(help: "Thread budget.")
    var threads: Int = 1

    @Option(help: "Sequence length (tinybert).")
    var sequence: Int = 64

    @Option(help: "Timing windows (the median is reported).")
    var windows: Int = 5

    @Option(help: "Steps per timing window.")
    var steps: Int = 10

    func validate() throws {
        guard ModelZoo.architectures.contains(model) else { throw ValidationError("unknown model '\(model)'") }
        guard batch >= 1, threads >= 1, windows >= 1, steps >= 1, sequence >= 2 else {
            throw ValidationError("batch, threads, windows and steps must be ≥ 1 (sequence ≥ 2)")
        }
    }

    func run() throws {
        Engine.setThreads(threads)
        var rng = RandomGenerator(seed: 0)
        let input: InputKind, classes: Int
        let batchInput: ModelInput
        switch model {
        case "tinybert":
            (input, classes) = (.tokens(vocabulary: 8192, maxLength: sequence), 2)
            let ids = (0..<(batch * sequence)).map { _ in Int(rng.next() % 8192) }
            batchInput = .tokens(TokenBatch(ids: ids, mask: Array(repeating: 1, count: ids.count), batch: batch, length: sequence))
        case "lenet300", "lenet5":
            (input, classes) = (.image(channels: 1, height: 28, width: 28), 10)
            batchInput = .dense(.normal([batch, 1, 28, 28], using: &rng))
        default:
            (input, classes) = (.image(channels: 3, height: 32, width: 32), 10)
            batchInput = .dense(.normal([batch, 3, 32, 32], using: &rng))
        }
        let labels = (0..<batch).map { _ in Int(rng.next() % UInt64(classes)) }
        let network = try ModelZoo.make(model, input: input, classes: classes, rng: &rng)
        let config = TrainingConfig(epochs: 1, batchSize: batch, optimizer: OptimizerConfig(name: "sgd", lr: 0.01, momentum: 0.9))
        let trainer = try Trainer(model: network, config: config, seed: 0)
        let step = LabeledBatch(input: batchInput, labels: labels)
        for _ in 0..<3 { _ = try trainer.trainStep(step) }
        let clock = ContinuousClock()
        var rates: [Double] = []
        for _ in 0..<windows {
            let start = clock.now
            for _ in 0..<steps { _ = try trainer.trainStep(step) }
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            rates.append(Double(batch * steps) / seconds)
        }
        let median = rates.sorted()[rates.count / 2]
        print("windows: " + rates.map { String(format: "%.1f", $0) }.joined(separator: " "))
        print(String(format: "bonsai %@ batch %d threads %d: %.1f samples/s", model, batch, threads, median))
    }
}
