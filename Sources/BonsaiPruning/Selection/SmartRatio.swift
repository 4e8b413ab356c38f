/// Smart ratios: the data-free per-layer keep counts of random tickets (Su et al., NeurIPS 2020;
/// METHODS.md §9.3, `pruner/SmartRatio.py`).
///
/// With `L` prunable layers indexed `l = 1…L` from input to output (linear layers last), `N_l`
/// weights each, target sparsity `s` and `N = Σ N_l`:
///
/// 1. *Fixed layers* (linear layers) keep `floor(p_lin·N_l)` with `p_lin = 0.3`.
/// 2. The other layers get raw ratios `r_l = (L−l+1)² + (L−l+1)` ("quadratic"), divided by `l²`
///    unless the network is a ResNet (ablations: `linear` `r_l = L−l+1`, `cubic` `(L−l+1)³`).
/// 3. Scaled: `goal = floor(N(1−s)) − floor(N_lin·p_lin)`, `p_l = r_l·goal / Σ_{l'} floor(N_{l'}·r_{l'})`
///    (the floors are per layer, as in the code).
/// 4. Overflow: a layer with `p_l ≥ 1` is set to 1 and its excess `floor((p_l−1)·N_l)` is carried to
///    the following layers, each absorbing up to `floor((1−p_l)·N_l)`.
/// 5. Counts `floor(p_l·N_l)`.
///
/// Choices (recorded, all small): (a) the code's overflow loop stops at the first layer with
/// nothing to carry, so an overflow that starts after a non-overflowing layer is lost; we carry
/// every overflow (identical in the expected case where ratios decrease with depth). (b) The
/// floors lose up to one weight per layer; we hand the shortfall (or take an excess) one weight at a
/// time to the non-fixed layers with the largest fractional budgets, so the total kept is exactly
/// `N − round(s·N)`, the count every other method in Bonsai hits. (c) A network without any
/// non-fixed layer (an MLP: every layer linear) would divide by zero in the code; there only the
/// *last* prunable layer is fixed at `p_lin` and the hidden layers decay by the formula (METHODS.md
/// §9.3 asks for a deliberate rule); with a single prunable layer it simply keeps the budget.
public enum SmartRatio {
    public enum Decay: String, Codable, Sendable, CaseIterable {
        case quadratic, linear, cubic, uniform
    }

    /// One prunable layer: its weight count and whether it is fixed at the linear keep ratio.
    public struct Layer: Equatable, Sendable {
        public var count: Int
        public var isLinear: Bool
        public init(count: Int, isLinear: Bool) { self.count = count; self.isLinear = isLinear }
    }

    /// The result: real keep ratios `p_l` after scaling and overflow, and integer keep counts.
    public struct Budget: Equatable, Sendable {
        public var ratios: [Double]
        public var kept: [Int]
    }

    /// The raw ratio of 1-based layer `l` of `L`.
    static func raw(_ l: Int, of L: Int, decay: Decay, resnet: Bool) -> Double {
        let k = Double(L - l + 1)
        switch decay {
        case .quadratic: return (k * k + k) / (resnet ? 1 : Double(l * l))
        case .linear: return k / (resnet ? 1 : Double(l * l))
        case .cubic: return k * k * k / (resnet ? 1 : Double(l * l))
        case .uniform: return 1
        }
    }

    /// Per-layer budgets for target sparsity `sparsity`. Throws when the fixed layers alone exceed
    /// the budget (the formula would give negative ratios).
    public static func budget(_ input: [Layer], sparsity: Double, linearKeepRatio: Double = 0.3,
                              decay: Decay = .quadratic, resnet: Bool = false) throws -> Budget {
        precondition(!input.isEmpty, "SmartRatio.budget: no layers")
        var layers = input
        if !layers.contains(where: { !$0.isLinear }) {
            // Rule (c): an all-linear network fixes only its last layer.
            for i in layers.indices { layers[i].isLinear = i == layers.count - 1 && layers.count > 1 }
        }
        let L = layers.count
        let total = layers.reduce(0) { $0 + $1.count }
        let target = total - Int((sparsity * Double(total)).rounded())
        let linearCount = layers.filter(\.isLinear).reduce(0) { $0 + $1.count }
        let fixedKept = layers.filter(\.isLinear).reduce(0) { $0 + Int(linearKeepRatio * Double($1.count)) }
        let goal = Int(Double(total) * (1 - sparsity)) - Int(Double(linearCount) * linearKeepRatio)
        guard goal >= 0, fixedKept <= target else {
            throw PruningError.invalidSetting(field: "sparsity", detail: "the linear layers' fixed keep ratio \(linearKeepRatio) alone keeps \(fixedKept) weights, more than the \(target) a sparsity of \(sparsity) allows")
        }
        var ratios = [Double](repeating: linearKeepRatio, count: L)
        // Steps 2–3: scale the raw ratios of the non-fixed layers.
        var denominator = 0.0
        for (i, layer) in layers.enumerated() where !layer.isLinear {
            denominator += (Double(layer.count) * raw(i + 1, of: L, decay: decay, resnet: resnet)).rounded(.down)
        }
        let freeCount = total - linearCount
        for (i, layer) in layers.enumerated() where !layer.isLinear {
            ratios[i] = decay == .uniform || denominator == 0
                ? Double(goal) / Double(freeCount)
                : raw(i + 1, of: L, decay: decay, resnet: resnet) * Double(goal) / denominator
        }
        // Step 4: carry overflow to later layers.
        var extra = 0
        for (i, layer) in layers.enumerated() where !layer.isLinear {
            let n = Double(layer.count)
            if ratios[i] >= 1 {
                extra += Int((ratios[i] - 1) * n)
                ratios[i] = 1
            } else if extra > 0 {
                let room = Int((1 - ratios[i]) * n)
                if room >= extra { ratios[i] += Double(extra) / n; extra = 0 } else { extra -= room; ratios[i] = 1 }
            }
        }
        // Step 5 and choice (b): floors, then exact total.
        var kept = layers.enumerated().map { i, layer in
            layer.isLinear ? Int(linearKeepRatio * Double(layer.count)) : Swift.min(layer.count, Int(ratios[i] * Double(layer.count)))
        }
        let free = layers.indices.filter { !layers[$0].isLinear }
        func fraction(_ i: Int) -> Double { ratios[i] * Double(layers[i].count) - Double(kept[i]) }
        var deficit = target - kept.reduce(0, +)
        while deficit != 0 {
            let order = deficit > 0
                ? free.filter { kept[$0] < layers[$0].count }.sorted { (fraction($0), -$0) > (fraction($1), -$1) }
                : free.filter { kept[$0] > 0 }.sorted { (fraction($0), $0) < (fraction($1), $1) }
            if order.isEmpty { break }
            for i in order where deficit != 0 {
                kept[i] += deficit > 0 ? 1 : -1
                deficit += deficit > 0 ? -1 : 1
            }
        }
        return Budget(ratios: ratios, kept: kept)
    }

    /// The layers of `paths` in `model`: linear (and attention projection) weights are fixed.
    public static func layers(_ model: Module, paths: [String]) -> [Layer] {
        paths.map { path in
            let p = model.parameter(at: path)!
            return Layer(count: p.value.count, isLinear: p.role == .linearWeight || p.role == .attentionWeight)
        }
    }
}

extension SmartRatio {
    /// Which raw-ratio formula: ResNets drop the `/l²` factor.
    public enum Family: String, Codable, Sendable, CaseIterable {
        case auto, resnet, plain
    }

    /// Kept counts for the prunable `paths` of `model` (in order).
    public static func keptCounts(_ model: Module, paths: [String], sparsity: Double, linearKeepRatio: Double,
                                  decay: Decay, family: Family) throws -> [(path: String, count: Int)] {
        let resnet = family == .resnet || (family == .auto && model is ResNet)
        let budget = try budget(layers(model, paths: paths), sparsity: sparsity, linearKeepRatio: linearKeepRatio,
                                decay: decay, resnet: resnet)
        return Array(zip(paths, budget.kept)).map { (path: $0.0, count: $0.1) }
    }

    /// The schema entries shared by `random-ticket` and `hybrid-ticket`.
    static var schemaProperties: [(name: String, schema: JSONSchema)] {
        [
            ("sparsity", .number(description: "Target sparsity s of the prunable set (reference default 0.98).", minimum: 0, maximum: 1, defaultValue: 0.9)),
            ("linear_keep_ratio", .number(description: "Fixed keep ratio of linear layers.", minimum: 0, maximum: 1, defaultValue: 0.3)),
            ("decay", .string(description: "Raw per-layer ratio: (L−l+1)²+(L−l+1) (quadratic), L−l+1, (L−l+1)³, or uniform.",
                              choices: Decay.allCases.map(\.rawValue), defaultValue: "quadratic")),
            ("family", .string(description: "ResNet formula (no /l² factor) or the plain one; auto detects ResNets.",
                               choices: Family.allCases.map(\.rawValue), defaultValue: "auto")),
        ]
    }
}
