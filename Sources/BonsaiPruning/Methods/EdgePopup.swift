/// Strong lottery tickets by edge-popup (Ramanujan et al., CVPR 2020; METHODS.md §8.3): the weights of
/// a randomly initialised network are frozen and never change; a score per weight is learned, and each
/// forward pass uses `w ⊙ TopK(|s|, k)` per layer, with the straight-through estimator
/// `∂L/∂s = sign(s) ⊙ (∂L/∂w_eff ⊙ w)` (implemented as `w ⊙ (m + |s| − stop_grad(|s|))`, exactly `w ⊙ m`
/// forward). Phases: `init` (signed Kaiming constant weights `sign(w)·√2/√fan_in` — fan scaled by k with
/// `scale_fan`, the paper's intent rather than the code's `(1 − prune_rate)` quirk — biases and BN
/// affine parameters set to 0/1 and frozen, i.e. non-affine BN as in the reference; scores Kaiming-
/// uniform), `scores` (the spec's `train` phase, its optimizer over the scores only), `finalize` (the
/// final `TopK(|s|, k)` becomes the mask).
public struct EdgePopup: PruningMethod {
    public struct Settings: MethodSettings, HasPrunableSet {
        /// Fraction of weights kept per layer.
        public var keep: Double?
        public var initialization: String?
        public var scaleFan: Bool?
        public var prunable: PrunableSet?

        enum CodingKeys: String, CodingKey {
            case keep, initialization, prunable
            case scaleFan = "scale_fan"
        }

        public init() {}

        public func validate() throws {
            try Check.fraction(keep, "keep", open: true)
            try Check.oneOf(initialization, "initialization", ["signed-constant", "kaiming-normal"])
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("keep", .number(description: "Fraction k of weights kept in every layer.", exclusiveMinimum: 0, exclusiveMaximum: 1, defaultValue: 0.5)),
                ("initialization", .string(description: "Random weights: signed Kaiming constant (best in the paper) or Kaiming normal.",
                                           choices: ["signed-constant", "kaiming-normal"], defaultValue: "signed-constant")),
                ("scale_fan", .boolean(description: "Scale the fan by k to compensate for pruning.", defaultValue: false)),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "edge-popup"
    public static let summary = "Find a subnetwork of a random, frozen network by learning per-weight scores (top-k with a straight-through estimator)."
    public static let reference = "Ramanujan, Wortsman, Kembhavi, Farhadi, Rastegari. What's Hidden in a Randomly Weighted Neural Network? CVPR 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    var keep: Double { settings.keep ?? 0.5 }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        [PlannedPhase(name: "init", steps: 0), PlannedPhase(name: "scores", steps: context.steps(context.spec.train)),
         PlannedPhase(name: "finalize", steps: 0)]
    }

    public func run(_ context: PipelineContext) throws {
        let model = context.model
        try context.phase("init") {
            var rng = RandomGenerator(seed: context.spec.seed ^ 0xED6E)
            for (path, parameter) in model.namedParameters() {
                if context.prunablePaths.contains(path) {
                    parameter.assign(randomWeights(parameter.shape, rng: &rng))
                    context.stash["score.\(path)"] = Initializer.kaimingUniform(parameter.shape, using: &rng)
                } else if parameter.role == .normWeight {
                    parameter.assign(.ones(parameter.shape))
                } else {
                    parameter.assign(.zeros(parameter.shape))
                }
            }
        }
        // Every run (fresh or resumed): freeze the network and attach the scores.
        for parameter in model.parameters { parameter.trainable = false }
        var scores: [(path: String, parameter: Parameter)] = []
        for path in context.prunablePaths {
            let score = Parameter(context.stash["score.\(path)"]!, role: .other)
            scores.append(("score.\(path)", score))
            let k = keep
            model.parameter(at: path)!.reparameterization = { w in EdgePopup.subnetwork(w, scores: score.value, keep: k) }
        }
        context.beforeSnapshot = { for (name, score) in scores { context.stash[name] = score.value.detached() } }
        try context.phase("scores") {
            let optimizer = try context.spec.train.optimizer.make(parameters: scores)
            try context.train(context.spec.train, optimizer: optimizer)
        }
        try context.phase("finalize") {
            var masks: [String: Tensor] = [:]
            for (name, score) in scores {
                let path = String(name.dropFirst("score.".count))
                masks[path] = EdgePopup.topMask(score.value, keep: keep)
                model.parameter(at: path)!.reparameterization = nil
            }
            try context.prune(MaskSet(masks), event: "edge-popup subnetwork")
        }
        for parameter in model.parameters {
            parameter.reparameterization = nil
            parameter.trainable = true
        }
        context.beforeSnapshot = nil
    }

    /// Signed Kaiming constant `sign(w)·√2/√fan_in` or Kaiming normal, fan scaled by k with `scale_fan`.
    func randomWeights(_ shape: [Int], rng: inout RandomGenerator) -> Tensor {
        let fan = Double(Initializer.fans(shape).fanIn) * (settings.scaleFan == true ? keep : 1)
        let std = 2.0.squareRoot() / fan.squareRoot()
        let normal = Tensor.normal(shape, std: std, using: &rng)
        if settings.initialization == "kaiming-normal" { return normal }
        return Engine.withoutGrad { normal.sign().scaled(by: std) }
    }

    /// The per-layer mask `TopK(|s|, k)`: exactly `round(k·n)` ones.
    public static func topMask(_ scores: Tensor, keep: Double) -> Tensor {
        let magnitudes = scores.doubles.map { Swift.abs($0) }
        let count = Int((keep * Double(magnitudes.count)).rounded())
        return Tensor(shape: scores.shape, scalars: TopMask.keepLargest(magnitudes, keep: count))
    }

    /// `w ⊙ (m + |s| − stop_grad(|s|))`: forward exactly `w ⊙ m`, gradient `sign(s) ⊙ g ⊙ w` to the scores.
    public static func subnetwork(_ w: Tensor, scores: Tensor, keep: Double) -> Tensor {
        let mask = topMask(scores.detached(), keep: keep).cast(to: w.dtype)
        let magnitude = scores.abs()
        return w * (mask + (magnitude - magnitude.detached()))
    }
}
