import Foundation

/// Parameters and non-zeros of one parameter tensor.
public struct LayerStats: Codable, Sendable, Equatable {
    public var path: String
    public var shape: [Int]
    public var parameters: Int
    public var nonzeros: Int
    public var prunable: Bool
    public var sparsity: Double { parameters == 0 ? 0 : 1 - Double(nonzeros) / Double(parameters) }

    enum CodingKeys: String, CodingKey { case path, shape, parameters, nonzeros, prunable, sparsity }

    public init(path: String, shape: [Int], parameters: Int, nonzeros: Int, prunable: Bool) {
        self.path = path; self.shape = shape; self.parameters = parameters; self.nonzeros = nonzeros; self.prunable = prunable
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(path: try c.decode(String.self, forKey: .path), shape: try c.decode([Int].self, forKey: .shape),
                  parameters: try c.decode(Int.self, forKey: .parameters), nonzeros: try c.decode(Int.self, forKey: .nonzeros),
                  prunable: try c.decode(Bool.self, forKey: .prunable))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path); try c.encode(shape, forKey: .shape); try c.encode(parameters, forKey: .parameters)
        try c.encode(nonzeros, forKey: .nonzeros); try c.encode(prunable, forKey: .prunable); try c.encode(sparsity, forKey: .sparsity)
    }
}

/// Totals over a set of tensors.
public struct CountSummary: Codable, Sendable, Equatable {
    public var parameters: Int
    public var nonzeros: Int
    public var sparsity: Double
    public init(_ layers: [LayerStats]) {
        parameters = layers.reduce(0) { $0 + $1.parameters }
        nonzeros = layers.reduce(0) { $0 + $1.nonzeros }
        sparsity = parameters == 0 ? 0 : 1 - Double(nonzeros) / Double(parameters)
    }
}

/// How inputs must be prepared to reproduce the reported accuracy (normalisation of images,
/// the vocabulary and sequence length of text).
public struct Preprocessing: Codable, Sendable, Equatable {
    public var dataset: String
    public var inputShape: [Int]
    public var mean: [Double]?
    public var std: [Double]?
    public var formula: String

    public init(data: PreparedData) {
        dataset = data.info.name
        inputShape = data.info.inputShape
        mean = data.info.normalization?.mean
        std = data.info.normalization?.std
        formula = data.info.kind == .image
            ? "x = (pixel / \(data.info.name == "digits" ? 16 : 255) − mean[c]) / std[c], NCHW float32"
            : "token ids from the vocabulary saved with the model ([CLS] … [SEP], padded with [PAD]=0); attention mask 1 for real tokens"
    }
}

/// What a finished pruning job reports.
public struct PruningReport: Codable, Sendable {
    public var architecture: String
    public var method: String
    public var seed: UInt64
    public var testAccuracy: Double
    public var testLoss: Double
    /// Over the prunable set.
    public var prunable: CountSummary
    /// Over every parameter of the model.
    public var model: CountSummary
    public var layers: [LayerStats]
    public var events: [PruningEvent]
    /// Mean instability over pruning events (§15).
    public var meanInstability: Double
    public var history: [PhaseEpoch]
    public var preprocessing: Preprocessing?
    /// Per-layer and total MACs / FLOPs per sample, dense and after pruning (nil for a structure
    /// the FLOPs counter does not know, or without data to give the input shape).
    public var flops: FlopsSummary?
    /// Inference latency of the dense, masked, sparse-kernel (and plugged-in) forms, when measured.
    public var latency: [LatencyStats]?
    /// Which layers the sparse-kernel form runs sparse (with their densities), when measured.
    public var sparseLayers: [SparseModel.LayerChoice]?
    /// Free-form results of further analysis passes.
    public var extras: [String: String]

    public struct PhaseEpoch: Codable, Sendable {
        public var phase: String
        public var metrics: EpochMetrics
    }

    enum CodingKeys: String, CodingKey {
        case architecture, method, seed, prunable, model, layers, events, history, preprocessing, extras, flops, latency
        case sparseLayers = "sparse_layers"
        case testAccuracy = "test_accuracy"
        case testLoss = "test_loss"
        case meanInstability = "mean_instability"
    }

    /// The report of a finished pipeline. FLOPs are always counted when `data` gives the input
    /// shape; latency only when `analysis.latency.repetitions > 0` (it runs the model many times).
    public static func make(model: any Model, result: PipelineResult, spec: PipelineSpec, data: PreparedData? = nil,
                            analysis: AnalysisOptions = AnalysisOptions()) throws -> PruningReport {
        let method = (try? JSONSerialization.jsonObject(with: spec.methodJSON) as? [String: Any])?["name"] as? String ?? "?"
        let prunablePaths = Set(result.masks.paths)
        let layers = model.namedParameters().map { path, parameter in
            let values = Engine.withoutGrad { parameter.effective }.floats
            return LayerStats(path: path, shape: parameter.shape, parameters: values.count,
                              nonzeros: values.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }, prunable: prunablePaths.contains(path))
        }
        let events = result.events
        let flops = data.flatMap { FlopCounter.count(model, input: $0.input) }
        var latency: [LatencyStats]?
        var sparseLayers: [SparseModel.LayerChoice]?
        if let data, analysis.latency.repetitions > 0 {
            let extra = try analysis.extraForms.compactMap { try $0(model) }
            latency = Latency.compare(model, input: data.input, settings: analysis.latency, extra: extra)
            sparseLayers = SparseModel(model, maxDensity: analysis.latency.maxDensity).layers
        }
        return PruningReport(
            architecture: spec.model.architecture, method: method, seed: spec.seed,
            testAccuracy: result.test.accuracy, testLoss: result.test.loss,
            prunable: CountSummary(layers.filter(\.prunable)), model: CountSummary(layers), layers: layers, events: events,
            meanInstability: events.isEmpty ? 0 : events.map(\.instability).reduce(0, +) / Double(events.count),
            history: result.history.map { PhaseEpoch(phase: $0.phase, metrics: $0.metrics) },
            preprocessing: data.map(Preprocessing.init), flops: flops, latency: latency, sparseLayers: sparseLayers, extras: [:])
    }
}

/// Optional analysis passes of a report.
public struct AnalysisOptions {
    /// Latency measurement (off unless `repetitions > 0`).
    public var latency: LatencySettings
    /// Further inference forms to time next to dense / masked / sparse (e.g. a compacted model).
    public var extraForms: [InferenceFormBuilder]

    public init(latency: LatencySettings = LatencySettings(), extraForms: [InferenceFormBuilder] = []) {
        self.latency = latency
        self.extraForms = extraForms
    }
}
