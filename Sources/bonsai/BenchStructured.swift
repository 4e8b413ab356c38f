import ArgumentParser
import BonsaiPruning
import Foundation

/// `bonsai bench structured`: what structured pruning buys at inference. VGG-11 (CIFAR, 3×32×32,
/// width multiplier `--width`) loses `--ratio` of the channels of every conv by filter L1 norm
/// (Li et al. 2017, layer-wise), is compacted into a physically smaller dense model, and the
/// evaluation-mode forward latency of the dense and the compacted model is measured at each
/// batch size (median over `--repetitions` after one warm-up). Also prints parameters and conv
/// multiply-accumulates of both, and checks that the compacted model computes what the masked one
/// does. Goal (task brief): speedup ≥ 1.7× at 50 %.
struct BenchStructured: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "structured", abstract: "Latency of VGG-11 before and after 50 % filter pruning and compaction.")

    @Option(help: "Thread budget.")
    var threads: Int = 1

    @Option(help: "Timed repetitions per measurement (the median is reported).")
    var repetitions: Int = 7

    @Option(help: "Comma-separated batch sizes.")
    var batches: String = "1,64"

    @Option(help: "Fraction of each conv's channels removed.")
    var ratio: Double = 0.5

    @Option(help: "VGG-11 width multiplier.")
    var width: Double = 1

    func validate() throws {
        guard threads >= 1, repetitions >= 1 else { throw ValidationError("--threads and --repetitions must be ≥ 1") }
        guard ratio >= 0, ratio < 1 else { throw ValidationError("--ratio must be in [0, 1)") }
        guard !batchSizes.isEmpty else { throw ValidationError("--batches must list positive integers") }
    }

    var batchSizes: [Int] { batches.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 } }

    func run() throws {
        Engine.setThreads(threads)
        var rng = RandomGenerator(seed: 0)
        let dense = try ModelZoo.make("vgg11", input: .image(channels: 3, height: 32, width: 32), classes: 10,
                                      options: ArchitectureOptions(width: width), rng: &rng)
        let groups = try ChannelDependencies.groups(of: dense)
        let channels = ChannelSelection.select(ChannelScores.filterL1(dense, groups: groups), groups: groups, ratio: ratio, scope: .layerwise)
        // Prune a copy (same seed) so the dense model stays dense.
        var rng2 = RandomGenerator(seed: 0)
        let masked = try ModelZoo.make("vgg11", input: .image(channels: 3, height: 32, width: 32), classes: 10,
                                       options: ArchitectureOptions(width: width), rng: &rng2)
        try ChannelMasks.elementMasks(channels, groups: groups, model: masked).apply(to: masked)
        let compact = try Compaction.compact(masked)
        let (kept, total) = (channels.counts.kept, channels.counts.total)
        print("bonsai bench structured: vgg11 width \(width), 3×32×32, threads \(threads), repetitions \(repetitions) (median)")
        print("filter L1, layer-wise \(ratio): \(kept) of \(total) conv channels kept; widths "
              + groups.map { "\(channels[$0.name]!.kept.count)" }.joined(separator: "-"))
        print(String(format: "parameters %d → %d (%.2f×); conv MACs per image %.1f M → %.1f M (%.2f×)",
                     dense.parameterCount, compact.model.parameterCount, Double(dense.parameterCount) / Double(compact.model.parameterCount),
                     convMACs(dense) / 1e6, convMACs(compact.model) / 1e6, convMACs(dense) / convMACs(compact.model)))
        var check = RandomGenerator(seed: 9)
        let probe = Tensor.normal([4, 3, 32, 32], using: &check)
        let difference = Engine.withoutGrad {
            zip(masked.forward(.dense(probe), context: .evaluation).floats, compact.model.forward(.dense(probe), context: .evaluation).floats)
                .reduce(Float(0)) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
        }
        print(String(format: "masked vs compacted outputs: max |Δ| = %.2e", difference))
        var speedups: [String] = []
        for batch in batchSizes {
            let x = Tensor.normal([batch, 3, 32, 32], using: &rng)
            let denseSeconds = latency(dense, x), compactSeconds = latency(compact.model, x)
            print(String(format: "batch %3d: dense %9.3f ms   compacted %9.3f ms   speedup %.2f×", batch,
                         denseSeconds * 1e3, compactSeconds * 1e3, denseSeconds / compactSeconds))
            speedups.append(String(format: "batch %d %.2f×", batch, denseSeconds / compactSeconds))
        }
        print("summary: \(Int(ratio * 100)) % channels removed, speedup " + speedups.joined(separator: ", ") + " (goal ≥ 1.7×)")
    }

    /// Median seconds of one evaluation-mode forward pass (after a warm-up).
    private func latency(_ model: any Model, _ x: Tensor) -> Double {
        let clock = ContinuousClock()
        var times: [Double] = []
        for repetition in 0...repetitions {
            let elapsed = clock.measure { _ = Engine.withoutGrad { model.forward(.dense(x), context: .evaluation) } }
            if repetition > 0 { times.append(elapsed.seconds) }
        }
        return times.median
    }

    /// Multiply-accumulates of the convolutions for one 32×32 image (3×3, padding 1, pools halve).
    private func convMACs(_ model: any Model) -> Double {
        var size = 32.0, total = 0.0
        for (_, module) in model.namedModules() {
            if let conv = module as? Conv2d {
                total += Double(conv.outChannels * conv.inChannels * conv.kernel * conv.kernel) * size * size
            } else if module is MaxPool2d {
                size /= 2
            }
        }
        return total
    }
}
