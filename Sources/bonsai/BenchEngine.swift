import ArgumentParser
import BonsaiTensor
import Foundation

/// `bonsai bench …`: performance measurements.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure performance.",
        subcommands: [BenchEngine.self, BenchTrain.self, BenchData.self, BenchStructured.self, BenchSparse.self, BenchStripes.self])
}

/// `bonsai bench engine`: the tensor engine's throughput on the work that dominates training.
///
/// Prints SGEMM GFLOP/s (square 512 and 1024 through `Gemm.multiply`, so the thread budget applies)
/// and, for every distinct convolution shape of the `conv4` and `resnet20` CIFAR models at batch 64,
/// the forward + backward GFLOP/s and its ratio to SGEMM-1024 from the same run.
///
/// FLOP counting: one pass (forward, input gradient, or weight gradient) of a convolution is
/// `2·N·Cout·Hout·Wout·(Cin/groups)·kh·kw` FLOPs. Forward + backward counts 3 passes, except for
/// a model's first layer, whose input is the image and needs no gradient (2 passes). The bias add
/// and its gradient are not counted.
///
/// Every figure is the median over the repetitions (or the fastest one with `--best`). The machine
/// may be shared, so the SGEMM-1024 reference is measured interleaved with the layers: every
/// repetition of a layer is preceded by one SGEMM-1024, and a layer's ratio is its rate over the
/// SGEMM rate of its own repetitions. The printed SGEMM-1024 figure is the median of all those
/// samples; a model's ratio weights each layer's time by its count and rescales it to that figure.
///
/// Then the element-wise section (``ElementwiseBandwidth``): GB/s of the element-wise loops of the
/// ops on large tensors against `memcpy` of the same size, from the same run. `--section` runs one
/// part only.
struct BenchEngine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Benchmark SGEMM and the convolution layers of conv4 and resnet20 (forward + backward).")

    @Option(help: "Thread budget of the engine.")
    var threads: Int = 1

    @Option(help: "Timed repetitions per measurement.")
    var repetitions: Int = 7

    @Flag(help: "Report the fastest repetition instead of the median.")
    var best = false

    @Flag(help: "Time with the process's CPU time instead of the wall clock: compares kernels on a busy machine, but counts the work of all threads, so it hides any parallel speed-up.")
    var cpuTime = false

    @Option(help: "Batch size of the convolution benchmarks.")
    var batch: Int = 64

    @Option(help: "Only benchmark layers whose description contains this text (e.g. \"64→64\").")
    var layer: String?

    @Option(help: "Sections to run: all, conv (SGEMM and the convolution layers) or elementwise.")
    var section: String = "all"

    @Option(help: "Floats per tensor of the element-wise section.")
    var elementwiseCount: Int = 16 << 20

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard ["all", "conv", "elementwise"].contains(section) else {
            throw ValidationError("--section must be all, conv or elementwise")
        }
        guard elementwiseCount >= 1 else { throw ValidationError("--elementwise-count must be at least 1") }
    }

    func run() throws {
        Engine.withThreads(threads) {
            print("bonsai bench engine: threads \(threads), repetitions \(repetitions) (\(best ? "fastest" : "median")), batch \(batch)"
                  + (cpuTime ? ", timed in process CPU time" : "") + loadAverage())
            if section != "elementwise" { runConv() }
            if section != "conv" {
                let bandwidth = ElementwiseBandwidth(count: elementwiseCount, repetitions: repetitions, threads: threads,
                                                     time: { time($0) })
                for line in bandwidth.run() { print(line) }
            }
        }
    }

    /// SGEMM and the convolution layers.
    private func runConv() {
        let sgemm512 = SquareSgemm(size: 512), sgemm1024 = SquareSgemm(size: 1024)
        _ = time(sgemm512.run)
        let small = sgemm512.flops / statistic((0..<(3 * repetitions)).map { _ in time(sgemm512.run) }) / 1e9
        print(String(format: "sgemm  512×512×512     %8.1f GFLOP/s", small))
        var results: [(model: String, layer: ConvLayerSpec, result: LayerResult)] = []
        var referenceSamples: [Double] = []
        for model in ConvLayerSpec.models(batch: batch) {
            for spec in model.layers where layer.map({ "\(model.name) \(spec.name)".contains($0) }) ?? true {
                let result = measure(spec, reference: sgemm1024)
                referenceSamples += result.referenceSeconds
                results.append((model.name, spec, result))
            }
        }
        if referenceSamples.isEmpty { referenceSamples = (0...repetitions).map { _ in time(sgemm1024.run) } }
        let reference = sgemm1024.flops / statistic(referenceSamples) / 1e9
        print(String(format: "sgemm 1024×1024×1024   %8.1f GFLOP/s   (%d samples interleaved with the layers)",
                     reference, referenceSamples.count) + loadAverage())
        report(results, reference: reference)
    }

    /// Prints one line per layer, one per model and the summary line.
    private func report(_ results: [(model: String, layer: ConvLayerSpec, result: LayerResult)], reference: Double) {
        print("conv fwd+bwd: 3 passes of 2·N·Cout·Hout·Wout·Cin/g·kh·kw FLOPs (2 for a first layer: no input gradient)")
        print("\("model".padded(9)) \("layer".padded(34)) count  fwd GF/s  bwd GF/s  f+b GF/s  of sgemm")
        var summaries: [String] = [], verdicts: [String] = []
        for model in ConvLayerSpec.models(batch: batch).map(\.name) {
            let rows = results.filter { $0.model == model }
            guard !rows.isEmpty else { continue }
            for (_, spec, result) in rows {
                let figures = String(format: "%5d  %8.1f  %8.1f  %8.1f  %7.0f%%", spec.count, result.forwardRate,
                                     result.backwardRate, result.rate, result.ratio * 100)
                print("\(model.padded(9)) \(spec.name.padded(34)) \(figures)")
            }
            // Total FLOPs over total time of one forward + backward of all the model's convolutions,
            // each layer's time rescaled from the SGEMM speed of its repetitions to the reference.
            let flops = rows.map { Double($0.layer.count) * $0.result.flops }.reduce(0, +)
            let measured = rows.map { Double($0.layer.count) * $0.result.seconds }.reduce(0, +)
            let normalised = rows.map { Double($0.layer.count) * $0.result.flops / ($0.result.ratio * reference * 1e9) }
                .reduce(0, +)
            let rate = flops / measured / 1e9, share = flops / normalised / 1e9 / reference
            print("\(model.padded(9)) all layers, weighted by their count in the model: "
                  + String(format: "%.1f GFLOP/s, %.0f%% of sgemm-1024", rate, share * 100))
            summaries.append("\(model) \(String(format: "%.1f GFLOP/s (%.0f%%)", rate, share * 100))")
            verdicts.append("\(model) \(share >= 0.5 ? "met" : "not met")")
        }
        let slowest = results.min { $0.result.ratio < $1.result.ratio }
        let slowestText = slowest.map {
            "; slowest layer \($0.model) \($0.layer.name) at \(String(format: "%.0f%%", $0.result.ratio * 100))"
        } ?? ""
        print("summary: threads \(threads), sgemm-1024 \(String(format: "%.1f", reference)) GFLOP/s; conv fwd+bwd "
              + summaries.joined(separator: ", ") + slowestText + "; goal ≥ 50 % of sgemm: " + verdicts.joined(separator: ", "))
    }

    /// ", load average a b c" from /proc/loadavg where it exists: other work on the machine skews
    /// every figure.
    private func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "" }
        return ", load average " + text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    // MARK: Measurements

    struct LayerResult {
        var flops: Double, seconds: Double
        var forwardRate: Double, backwardRate: Double
        /// Rate over the SGEMM-1024 rate of the same repetitions.
        var ratio: Double
        /// The interleaved SGEMM-1024 timings.
        var referenceSeconds: [Double]
        var rate: Double { flops / seconds / 1e9 }
    }

    /// Forward and backward of one layer (the backward seeded with a fixed output gradient), each
    /// repetition preceded by one SGEMM-1024 (`reference`).
    private func measure(_ layer: ConvLayerSpec, reference: SquareSgemm) -> LayerResult {
        var rng = RandomGenerator(seed: 2)
        let xData = Tensor.normal(layer.input, dtype: .float32, using: &rng)
        let x = layer.inputNeedsGradient ? xData.requiringGrad() : xData
        let w = Tensor.normal(layer.weight, std: 0.1, dtype: .float32, using: &rng).requiringGrad()
        let b = layer.bias ? Tensor.zeros([layer.weight[0]]).requiringGrad() : nil
        let wanted = (layer.inputNeedsGradient ? [x] : []) + [w] + (b.map { [$0] } ?? [])
        let seed = Engine.withoutGrad { conv2d(xData, weight: w, bias: b, geometry: layer.geometry) }
        var forward: [Double] = [], backward: [Double] = [], sgemm: [Double] = []
        for repetition in 0...repetitions {
            let r = time(reference.run)
            var y = seed
            let f = time { y = conv2d(x, weight: w, bias: b, geometry: layer.geometry) }
            var grads: [Tensor] = []
            let g = time { grads = gradients(of: y, withRespectTo: wanted, seed: seed) }
            precondition(grads.count == wanted.count, "bench: missing gradients")
            if repetition > 0 { forward.append(f); backward.append(g); sgemm.append(r) }  // repetition 0 warms up
        }
        let pass = layer.flopsPerPass
        let (fm, bm) = (statistic(forward), statistic(backward))
        let passes = layer.inputNeedsGradient ? 3.0 : 2.0
        let rate = passes * pass / (fm + bm), referenceRate = reference.flops / statistic(sgemm)
        return LayerResult(flops: passes * pass, seconds: fm + bm,
                           forwardRate: pass / fm / 1e9, backwardRate: (passes - 1) * pass / bm / 1e9,
                           ratio: rate / referenceRate, referenceSeconds: sgemm)
    }

    /// Seconds `body` takes, by the wall clock or (with `--cpu-time`) the process's CPU clock.
    private func time(_ body: () -> Void) -> Double {
        if !cpuTime { return ContinuousClock().measure(body).seconds }
        func now() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
        }
        let start = now()
        body()
        return now() - start
    }

    /// The median of the timings, or the fastest with `--best`.
    private func statistic(_ seconds: [Double]) -> Double {
        best ? seconds.min() ?? .nan : seconds.median
    }
}

extension String {
    /// Left-aligned in a column of `width` characters.
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

extension Array where Element == Double {
    var median: Double {
        let sorted = self.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
