/// The optimizer of a training phase as a job spec states it (`{"name": "sgd", "lr": 0.1, "momentum": 0.9}`).
public struct OptimizerConfig: Codable, Sendable, Equatable {
    public var name: String
    public var lr: Double
    public var momentum: Double?
    public var nesterov: Bool?
    public var weightDecay: Double?
    public var betas: [Double]?
    public var eps: Double?
    /// gRDA: the tuning function's scale c and exponent μ (ℓ_n = c·γ^{μ+½}·n^μ).
    public var c: Double?
    public var mu: Double?

    enum CodingKeys: String, CodingKey {
        case name, lr, momentum, nesterov, betas, eps, c, mu
        case weightDecay = "weight_decay"
    }

    public static let names = ["sgd", "adam", "adamw", "grda"]

    public init(name: String = "sgd", lr: Double = 0.1, momentum: Double? = nil, nesterov: Bool? = nil,
                weightDecay: Double? = nil, betas: [Double]? = nil, eps: Double? = nil, c: Double? = nil, mu: Double? = nil) {
        self.name = name; self.lr = lr; self.momentum = momentum; self.nesterov = nesterov
        self.weightDecay = weightDecay; self.betas = betas; self.eps = eps; self.c = c; self.mu = mu
    }

    /// Checks every field, naming the offending one.
    public func validate() throws {
        guard Self.names.contains(name) else {
            throw OptimizerError.invalidSetting(field: "name", detail: "unknown optimizer '\(name)' (known: \(Self.names.joined(separator: ", ")))")
        }
        guard lr.isFinite, lr > 0, lr <= 100 else { throw OptimizerError.invalidSetting(field: "lr", detail: "must be in (0, 100], got \(lr)") }
        if let momentum, !(0..<1).contains(momentum) { throw OptimizerError.invalidSetting(field: "momentum", detail: "must be in [0, 1)") }
        if let weightDecay, !(weightDecay >= 0 && weightDecay < 1) { throw OptimizerError.invalidSetting(field: "weight_decay", detail: "must be in [0, 1)") }
        if let betas, betas.count != 2 || !betas.allSatisfy({ (0..<1).contains($0) }) {
            throw OptimizerError.invalidSetting(field: "betas", detail: "must be two numbers in [0, 1)")
        }
        if let eps, !(eps > 0) { throw OptimizerError.invalidSetting(field: "eps", detail: "must be > 0") }
        if name != "sgd", momentum != nil || nesterov != nil {
            throw OptimizerError.invalidSetting(field: "momentum", detail: "only sgd takes momentum/nesterov")
        }
        if nesterov == true, (momentum ?? 0) == 0 { throw OptimizerError.invalidSetting(field: "nesterov", detail: "needs momentum > 0") }
        if name != "grda", c != nil || mu != nil { throw OptimizerError.invalidSetting(field: "c", detail: "only grda takes c and mu") }
        if name == "grda" {
            if let c, !(c >= 0 && c < 1) { throw OptimizerError.invalidSetting(field: "c", detail: "must be in [0, 1)") }
            if let mu, !(mu > 0 && mu <= 2) { throw OptimizerError.invalidSetting(field: "mu", detail: "must be in (0, 2]") }
            if weightDecay != nil || betas != nil || eps != nil {
                throw OptimizerError.invalidSetting(field: "weight_decay", detail: "grda takes no weight decay, betas or eps")
            }
        }
    }

    /// Builds the optimizer over `groups` (each group's rate is `lr × its multiplier`).
    public func make(parameters: [(path: String, parameter: Parameter)], extraGroups: [ParameterGroup] = []) throws -> any Optimizer {
        try validate()
        let groups = [ParameterGroup(parameters: parameters, learningRate: lr, weightDecay: weightDecay ?? (name == "adamw" ? 0.01 : 0))] + extraGroups
        switch name {
        case "sgd":
            return try SGD(groups: groups, momentum: momentum ?? 0, nesterov: nesterov ?? false)
        case "grda":
            return try GRDA(groups: groups, c: c ?? 0.005, mu: mu ?? 0.51)
        default:
            return try Adam(groups: groups, beta1: betas?[0] ?? 0.9, beta2: betas?[1] ?? 0.999, epsilon: eps ?? 1e-8,
                            decoupled: name == "adamw")
        }
    }
}
