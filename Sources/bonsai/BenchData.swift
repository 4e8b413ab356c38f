import ArgumentParser
import BonsaiNN
import Foundation

/// `bonsai bench data`: MNIST load time, one epoch of batching (samples/s), and one augmented epoch
/// of the CIFAR-10 subset.
struct BenchData: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "Measure data loading and batching.")

    @Option(help: "Data directory (default: BONSAI_DATA_DIR or the repository's data/).")
    var dataDir: String?

    func run() throws {
        let directory = try dataDir.map { try DataDirectory(path: $0) }
        let clock = ContinuousClock()
        var splits: DatasetSplits<ImageDataset>?
        let load = try clock.measure {
            splits = try DatasetRegistry.images("mnist", from: directory, options: DatasetOptions(validationFraction: 0))
        }
        var loader = try DataLoader(dataset: splits!.train, config: DataLoaderConfig(batchSize: 128, seed: 1))
        var samples = 0
        let epoch = clock.measure { while let batch = loader.next() { samples += batch.count } }
        var cifar = try DataLoader(dataset: try DatasetRegistry.images("cifar10", from: directory).train,
                                   config: DataLoaderConfig(batchSize: 128, seed: 1, augmentation: .cifar))
        var cifarSamples = 0
        let cifarEpoch = clock.measure { while let batch = cifar.next() { cifarSamples += batch.count } }
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        print(String(format: "MNIST load (train + test): %.3f s", seconds(load)))
        print(String(format: "MNIST epoch batching: %.3f s, %.0f samples/s", seconds(epoch), Double(samples) / seconds(epoch)))
        print(String(format: "CIFAR-10 subset augmented epoch: %.3f s, %.0f samples/s", seconds(cifarEpoch), Double(cifarSamples) / seconds(cifarEpoch)))
    }
}
