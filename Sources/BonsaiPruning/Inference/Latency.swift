import Dispatch

/// One way of running a model's inference: the dense model, the masked model, the sparse-kernel
/// form, or any form plugged in later (e.g. a structurally compacted model) through a closure.
public struct InferenceForm {
    public var name: String
    /// Logits for an input batch.
    public var forward: (ModelInput) -> Tensor
    /// Run once before / after the timed repetitions (e.g. lifting masks off and putting them back).
    public var setUp: () -> Void
    public var tearDown: () -> Void

    public init(name: String, forward: @escaping (ModelInput) -> Tensor, setUp: @escaping () -> Void = {},
                tearDown: @escaping () -> Void = {}) {
        self.name = name; self.forward = forward; self.setUp = setUp; self.tearDown = tearDown
    }

    /// The masked model as trained: `forward` computes `value ⊙ mask` on every call, then dense kernels.
    public static func masked(_ model: any Model) -> InferenceForm {
        InferenceForm(name: "masked") { input in Engine.withoutGrad { model.forward(input, context: .evaluation) } }
    }

    /// The same architecture with its masks lifted for the measurement (the pruned weights are
    /// exactly zero already, so the logits are unchanged): dense kernels, no mask multiply.
    public static func dense(_ model: any Model) -> InferenceForm {
        var saved: [(Parameter, Tensor)] = []
        return InferenceForm(name: "dense", forward: { input in Engine.withoutGrad { model.forward(input, context: .evaluation) } },
                             setUp: {
                                 saved = model.namedParameters().compactMap { p in p.parameter.mask.map { (p.parameter, $0) } }
                                 for (p, _) in saved { p.mask = nil }
                             },
                             tearDown: {
                                 for (p, mask) in saved { p.mask = mask }
                                 saved = []
                             })
    }

    /// The CSR-kernel form (``SparseModel``).
    public static func sparse(_ sparse: SparseModel) -> InferenceForm {
        InferenceForm(name: "sparse") { sparse.forward($0) }
    }
}

/// Builds an extra inference form for a finished model (nil when it does not apply), e.g. a
/// structured-compaction pass: `{ model in try Compaction.compact(model).map { c in InferenceForm(name: "compacted") { c.forward($0) } } }`.
public typealias InferenceFormBuilder = (any Model) throws -> InferenceForm?

/// Wall-clock latency of one form at one batch size over `repetitions` timed calls (after
/// `warmup` untimed ones), in milliseconds: median, 10th and 90th percentile (nearest rank), min, max.
public struct LatencyStats: Codable, Sendable, Equatable {
    public var form: String
    public var batch: Int
    public var threads: Int
    public var repetitions: Int
    public var medianMs: Double
    public var p10Ms: Double
    public var p90Ms: Double
    public var minMs: Double
    public var maxMs: Double
    /// Largest |logit − masked logit| / max(1, |masked logit|) on the timed input (0 for the masked form).
    public var maxDeviation: Double

    enum CodingKeys: String, CodingKey {
        case form, batch, threads, repetitions
        case medianMs = "median_ms", p10Ms = "p10_ms", p90Ms = "p90_ms", minMs = "min_ms", maxMs = "max_ms"
        case maxDeviation = "max_deviation"
    }

    /// Summary statistics of raw durations in milliseconds.
    public init(form: String, batch: Int, threads: Int, samples: [Double], maxDeviation: Double = 0) {
        let sorted = samples.sorted()
        func rank(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = Swift.max(0, Swift.min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1))
            return sorted[index]
        }
        self.form = form; self.batch = batch; self.threads = threads; repetitions = samples.count
        let n = sorted.count
        medianMs = n == 0 ? 0 : (n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2)
        p10Ms = rank(0.1); p90Ms = rank(0.9)
        minMs = sorted.first ?? 0; maxMs = sorted.last ?? 0
        self.maxDeviation = maxDeviation
    }
}

/// Latency measurement settings (repetitions 0 = off, the default: measuring is opt-in).
public struct LatencySettings: Codable, Sendable, Equatable {
    public var repetitions: Int
    public var warmup: Int
    public var batchSizes: [Int]
    /// Layers at or below this density run on the sparse kernels.
    public var maxDensity: Double
    public var threads: Int

    enum CodingKeys: String, CodingKey {
        case repetitions, warmup, threads
        case batchSizes = "batch_sizes", maxDensity = "max_density"
    }

    public init(repetitions: Int = 0, warmup: Int = 3, batchSizes: [Int] = [1], maxDensity: Double = 0.1, threads: Int = 1) {
        self.repetitions = repetitions; self.warmup = warmup; self.batchSizes = batchSizes
        self.maxDensity = maxDensity; self.threads = threads
    }
}

public enum Latency {
    /// Times `form` on `input`: `warmup` untimed calls then `repetitions` timed ones.
    public static func measure(_ form: InferenceForm, input: ModelInput, repetitions: Int, warmup: Int = 3,
                               reference: Tensor? = nil) -> LatencyStats {
        form.setUp()
        defer { form.tearDown() }
        var output = form.forward(input)
        for _ in 0..<Swift.max(0, warmup - 1) { output = form.forward(input) }
        var samples: [Double] = []
        samples.reserveCapacity(repetitions)
        for _ in 0..<repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            output = form.forward(input)
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return LatencyStats(form: form.name, batch: input.batchSize, threads: Engine.threads, samples: samples,
                            maxDeviation: reference.map { deviation(output, $0) } ?? 0)
    }

    /// `max |a − b| / max(1, |b|)` entry-wise.
    public static func deviation(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape, "Latency.deviation: shapes \(a.shape) and \(b.shape)")
        let (x, y) = (a.doubles, b.doubles)
        var worst = 0.0
        for i in x.indices { worst = Swift.max(worst, abs(x[i] - y[i]) / Swift.max(1, abs(y[i]))) }
        return worst
    }

    /// A random input batch of `batch` samples for `kind` (timing does not depend on the values).
    public static func input(for kind: InputKind, batch: Int, seed: UInt64 = 0) -> ModelInput {
        var rng = RandomGenerator(seed: seed)
        switch kind {
        case let .image(c, h, w): return .dense(Tensor.normal([batch, c, h, w], using: &rng))
        case let .tokens(vocabulary, length):
            let ids = (0..<(batch * length)).map { _ in Int(rng.next() % UInt64(Swift.max(vocabulary, 1))) }
            return .tokens(TokenBatch(ids: ids, mask: Array(repeating: 1, count: ids.count), batch: batch, length: length))
        }
    }

    /// Dense, masked and sparse forms (plus `extra`) of `model` at every batch size of `settings`,
    /// each checked against the masked form's logits.
    public static func compare(_ model: any Model, input kind: InputKind, settings: LatencySettings,
                               extra: [InferenceForm] = []) -> [LatencyStats] {
        Engine.withThreads(settings.threads) {
            let sparse = SparseModel(model, maxDensity: settings.maxDensity)
            let forms = [InferenceForm.dense(model), .masked(model), .sparse(sparse)] + extra
            var result: [LatencyStats] = []
            for batch in settings.batchSizes {
                let input = input(for: kind, batch: batch)
                let reference = Engine.withoutGrad { model.forward(input, context: .evaluation) }
                for form in forms {
                    result.append(measure(form, input: input, repetitions: settings.repetitions, warmup: settings.warmup,
                                          reference: reference))
                }
            }
            return result
        }
    }
}
