import ArgumentParser
import BonsaiPruning
import Foundation

/// `bonsai bench sparse`: inference latency of a magnitude-pruned zoo model through the CSR sparse
/// kernels (``SparseModel``) against the same model dense (masks lifted, dense kernels) and masked
/// (`value ⊙ mask` on every call, then dense kernels), at each batch size.
///
/// The model is initialised as PyTorch does and pruned layer-wise by |w| to `--sparsity` (latency
/// does not depend on the trained values, only on the sparsity pattern's density per layer); the
/// input is random data of the data set's shape. Every figure is over `--repetitions` timed calls
/// after a warm-up: median, p10 and p90 in milliseconds; the speed-up is dense median / sparse
/// median. Each form's logits are checked against the masked model's (max relative deviation).
/// `--sweep` adds, for LeNet-300's first layer alone (784 → 300), the sparse/dense time ratio
/// across densities: the crossover that sets ``SparseModel``'s default `maxDensity`.
struct BenchSparse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sparse", abstract: "Benchmark inference through the sparse kernels against dense and masked forms.")

    @Option(help: "Architecture (image models of the zoo).")
    var model: String = "lenet300"

    @Option(help: "Layer-wise magnitude sparsity of the prunable weights.")
    var sparsity: Double = 0.9

    @Option(help: "Batch sizes, comma-separated.")
    var batches: String = "1,64"

    @Option(help: "Timed repetitions per form and batch size.")
    var repetitions: Int = 300

    @Option(help: "Thread budget.")
    var threads: Int = 1

    @Option(help: "Layers at or below this density run on the sparse kernels.")
    var maxDensity: Double = 0.1

    @Flag(help: "Also sweep the density of one 784→300 linear layer (sparse/dense time ratio).")
    var sweep = false

    func validate() throws {
        guard ModelZoo.architectures.contains(model), model != "tinybert" else { throw ValidationError("unknown image model '\(model)'") }
        guard (0..<1).contains(sparsity) else { throw ValidationError("--sparsity must be in [0, 1)") }
        guard threads >= 1, repetitions >= 1 else { throw ValidationError("--threads and --repetitions must be ≥ 1") }
    }

    func run() throws {
        let sizes = batches.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 >= 1 }
        let input: InputKind = ["lenet300", "lenet5"].contains(model) ? .image(channels: 1, height: 28, width: 28)
            : .image(channels: 3, height: 32, width: 32)
        var rng = RandomGenerator(seed: 1)
        let net = try ModelZoo.make(model, input: input, classes: 10, rng: &rng)
        let paths = try PrunableSet().resolve(in: net)
        try TopK.select(MagnitudeScore.scores(net, paths: paths), sparsity: sparsity, scope: .layerwise, model: net).apply(to: net)
        let sparse = SparseModel(net, maxDensity: maxDensity)
        print("bonsai bench sparse: \(model), layer-wise magnitude sparsity \(Format.percent(sparsity)), threads \(threads), "
              + "\(repetitions) repetitions (median, p10, p90 in ms)")
        for layer in sparse.layers {
            print("  \(layer.path.padded(22)) \(layer.kind.padded(6)) density \(String(format: "%.3f", layer.density)) → "
                  + (layer.sparse ? "sparse kernel" : "dense kernel"))
        }
        if let f = FlopCounter.count(net, input: input) {
            print(String(format: "  MACs per sample: dense %d, non-zero %d (%.2f× fewer)", f.denseMACs, f.prunedMACs, f.reduction))
        }
        print("\("batch".padded(6)) \("form".padded(8)) \("median".padded(9)) \("p10".padded(9)) \("p90".padded(9)) deviation")
        let stats = Latency.compare(net, input: input, settings: LatencySettings(repetitions: repetitions, warmup: 10, batchSizes: sizes,
                                                                                maxDensity: maxDensity, threads: threads))
        for s in stats {
            print("\(String(s.batch).padded(6)) \(s.form.padded(8)) \(String(format: "%.4f", s.medianMs).padded(9)) "
                  + "\(String(format: "%.4f", s.p10Ms).padded(9)) \(String(format: "%.4f", s.p90Ms).padded(9)) "
                  + String(format: "%.1e", s.maxDeviation))
        }
        var summary: [String] = []
        for batch in sizes {
            let row = Dictionary(stats.filter { $0.batch == batch }.map { ($0.form, $0.medianMs) }, uniquingKeysWith: { a, _ in a })
            guard let dense = row["dense"], let masked = row["masked"], let sp = row["sparse"], sp > 0 else { continue }
            summary.append(String(format: "batch %d: sparse %.2f× faster than dense, %.2f× than masked", batch, dense / sp, masked / sp))
        }
        print("summary: " + summary.joined(separator: "; "))
        if sweep { densitySweep(batches: sizes) }
    }

    /// Sparse / dense median time of one 784→300 linear layer across densities.
    func densitySweep(batches sizes: [Int]) {
        print("density sweep, linear 784→300 (sparse time / dense time; < 1: sparse wins)")
        Engine.withThreads(threads) {
            var rng = RandomGenerator(seed: 3)
            let w = Tensor.normal([300, 784], using: &rng)
            let bias = Tensor.zeros([300])
            for density in [0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7] {
                var maskRng = RandomGenerator(seed: 4)
                let mask = Tensor(shape: [300, 784], scalars: (0..<(300 * 784)).map { _ in
                    Double(maskRng.next() % 10_000) < density * 10_000 ? Float(1) : 0 })
                let masked = Engine.withoutGrad { w * mask }
                let csr = SparseMatrix(dense: masked)
                var cells: [String] = []
                for batch in sizes {
                    let x = Tensor.normal([batch, 784], using: &rng)
                    let dense = time { _ = linear(x, weight: masked, bias: bias) }
                    let sp = time { _ = sparseLinear(x, weight: csr, bias: bias) }
                    cells.append(String(format: "batch %d: %.2f (dense %.1f µs, sparse %.1f µs)", batch, sp / dense, dense * 1e3, sp * 1e3))
                }
                print("  density \(String(format: "%.2f", density))  " + cells.joined(separator: "   "))
            }
        }
    }

    /// Median milliseconds of `body` over the repetitions (after a warm-up).
    func time(_ body: () -> Void) -> Double {
        for _ in 0..<5 { body() }
        var samples: [Double] = []
        for _ in 0..<Swift.max(5, repetitions / 3) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return LatencyStats(form: "", batch: 0, threads: threads, samples: samples).medianMs
    }
}
