import ArgumentParser
import BonsaiPruning
import Foundation

/// `bonsai bench stripes`: one `K×K` conv layer executed stripe-wise (``StripeConv``: a `1×1` GEMM
/// per stride phase over the kept stripes plus shift-and-add) against the dense engine conv
/// (`conv2d`, im2col + GEMM) on the stripe-masked weight, at several stripe sparsities in one run.
/// Stripes are removed uniformly at random (exact count, the same pattern for both forms); each
/// figure is the median of `--repetitions` timed calls after a warm-up, and each row checks the two
/// outputs agree (max relative deviation).
struct BenchStripes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stripes", abstract: "Stripe-wise conv execution against the dense conv at several stripe sparsities.")

    @Option(help: "Input channels C.") var channels: Int = 64
    @Option(help: "Filters N.") var filters: Int = 64
    @Option(help: "Kernel size K.") var kernel: Int = 3
    @Option(help: "Input side H = W.") var size: Int = 32
    @Option(help: "Strides, comma-separated.") var strides: String = "1,2"
    @Option(help: "Batch size.") var batch: Int = 8
    @Option(help: "Stripe sparsities, comma-separated.") var sparsities: String = "0,0.25,0.5,0.75,0.9"
    @Option(help: "Timed repetitions (median reported).") var repetitions: Int = 15
    @Option(help: "Thread budget.") var threads: Int = 1

    func validate() throws {
        guard channels > 0, filters > 0, kernel > 0, size >= kernel, batch > 0, threads >= 1, repetitions >= 1 else {
            throw ValidationError("sizes, --threads and --repetitions must be positive, --size ≥ --kernel")
        }
        guard !list(strides).isEmpty, list(strides).allSatisfy({ $0 >= 1 }) else { throw ValidationError("--strides must list positive integers") }
        guard !ratios.isEmpty, ratios.allSatisfy({ (0..<1).contains($0) }) else { throw ValidationError("--sparsities must be in [0, 1)") }
    }

    func list(_ text: String) -> [Int] { text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    var ratios: [Double] { sparsities.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        Engine.setThreads(threads)
        var rng = RandomGenerator(seed: 0)
        let x = Tensor.normal([batch, channels, size, size], using: &rng)
        let weight = Tensor.normal([filters, channels, kernel, kernel], using: &rng)
        let padding = kernel / 2
        print("bonsai bench stripes: conv \(channels)→\(filters), \(kernel)×\(kernel), padding \(padding), input \(batch)×\(channels)×\(size)×\(size), threads \(threads), median of \(repetitions)")
        print("stride  sparsity  stripes   dense ms  stripe ms  stripe/dense  speed-up  max rel. Δ")
        for stride in list(strides) {
            for ratio in ratios {
                let total = filters * kernel * kernel
                let removed = Int((ratio * Double(total)).rounded())
                let order = Tensor.uniform([total], low: 0, high: 1, using: &rng).doubles
                let keep = TopMask.keepLargest(order, keep: total - removed)
                let stripes = Tensor(shape: [filters, kernel, kernel], scalars: keep)
                let skeleton = FilterSkeleton(path: "bench", weight: Parameter(weight, role: .convWeight))
                let masked = Engine.withoutGrad { weight * skeleton.weightMask(keep.map { $0 != 0 }) }
                let stripe = StripeConv(weight: masked, stripes: stripes, stride: stride, padding: padding)
                let dense = Engine.withoutGrad { conv2d(x, weight: masked, stride: stride, padding: padding) }
                let fast = stripe(x)
                let scale = Swift.max(dense.doubles.map { Swift.abs($0) }.max() ?? 1, 1)
                let deviation = zip(dense.doubles, fast.doubles).reduce(0.0) { Swift.max($0, Swift.abs($1.0 - $1.1)) } / scale
                let denseTime = time { _ = Engine.withoutGrad { conv2d(x, weight: masked, stride: stride, padding: padding) } }
                let stripeTime = time { _ = stripe(x) }
                print(String(format: "%6d  %8.2f  %7d  %9.3f  %9.3f  %12.2f  %7.2f×  %.1e", stride, ratio, stripe.stripeCount,
                             denseTime * 1e3, stripeTime * 1e3, stripeTime / denseTime, denseTime / stripeTime, deviation))
            }
        }
    }

    /// Median seconds of `body` over `repetitions` calls after one warm-up.
    func time(_ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        var times: [Double] = []
        for repetition in 0...repetitions {
            let elapsed = clock.measure(body)
            if repetition > 0 { times.append(elapsed.seconds) }
        }
        return times.median
    }
}
