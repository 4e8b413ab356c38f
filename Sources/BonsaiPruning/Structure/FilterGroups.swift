/// Whole output filters (conv) or neurons (linear) as pruning units, with the per-channel
/// parameters that must go with them so a pruned filter's output is exactly zero, as if it were
/// removed (METHODS.md §0.1 "structured pruning"): row `j` of the weight, entry `j` of the layer's
/// bias, and entry `j` of the scale γ and shift β of a batch norm that directly follows the layer.
/// (Masking only the weight would leave the BN shift β_j − γ_j·μ_j/σ_j as a constant channel.)
///
/// Pruning is expressed as element masks over these tensors, so the masked forward, the optimizers'
/// never-revive rule and the reports work unchanged.
public struct FilterGroup: Sendable, Equatable {
    /// The weight's path (`[filters, …]`).
    public var weightPath: String
    public var filters: Int
    /// One-dimensional `[filters]` parameters masked together with the weight rows.
    public var companions: [String]

    /// Every conv / linear weight of `model`'s inference plan, in forward order, with companions.
    /// Throws for a model without a plan (e.g. `TinyBert`).
    public static func all(in model: Module, method: String) throws -> [FilterGroup] {
        guard case let .steps(steps)? = InferencePlan.make(model) else {
            throw PruningError.unsupportedModel(method: method, detail: "filter pruning needs a conv / linear feed-forward zoo model")
        }
        var paths: [ObjectIdentifier: String] = [:]
        for (path, module) in model.namedModules() { paths[ObjectIdentifier(module)] = path }
        func prefix(_ m: Module) -> String { paths[ObjectIdentifier(m)].map { $0.isEmpty ? "" : $0 + "." } ?? "" }
        var groups: [FilterGroup] = []
        func visit(_ steps: [InferenceStep]) {
            for (i, step) in steps.enumerated() {
                let next: BatchNorm? = i + 1 < steps.count ? { if case let .batchNorm(bn) = steps[i + 1] { return bn }; return nil }() : nil
                let bnPaths = next.map { [prefix($0) + "weight", prefix($0) + "bias"] } ?? []
                switch step {
                case let .conv(path, layer):
                    groups.append(FilterGroup(weightPath: path, filters: layer.outChannels,
                                              companions: (layer.bias != nil ? [prefix(layer) + "bias"] : []) + bnPaths))
                case let .linear(path, layer):
                    groups.append(FilterGroup(weightPath: path, filters: layer.outFeatures,
                                              companions: (layer.bias != nil ? [prefix(layer) + "bias"] : []) + bnPaths))
                case let .residual(body, shortcut): visit(body); visit(shortcut)
                default: break
                }
            }
        }
        visit(steps)
        return groups
    }

    /// Which filters are still alive (a filter is dead when its whole mask row is zero).
    public func alive(in model: Module) -> [Bool] {
        guard let mask = model.parameter(at: weightPath)?.mask else { return Array(repeating: true, count: filters) }
        let m = mask.floats
        let row = filters == 0 ? 0 : m.count / filters
        return (0..<filters).map { f in (0..<row).contains { m[f * row + $0] != 0 } }
    }

    /// Per-filter norms of the weight: L2 `‖W_f‖₂` or L1 `‖W_f‖₁`.
    public func norms(in model: Module, l1: Bool) -> [Double] {
        let w = model.parameter(at: weightPath)!.value.doubles
        let row = filters == 0 ? 0 : w.count / filters
        return (0..<filters).map { f in
            var s = 0.0
            for i in 0..<row { let x = w[f * row + i]; s += l1 ? Swift.abs(x) : x * x }
            return l1 ? s : s.squareRoot()
        }
    }

    /// Masks zeroing the filters where `keep` is false, over the weight and its companions.
    public func masks(keeping keep: [Bool], in model: Module) -> MaskSet {
        precondition(keep.count == filters, "FilterGroup.masks: \(keep.count) flags for \(filters) filters of \(weightPath)")
        var result: [String: Tensor] = [:]
        for path in [weightPath] + companions {
            guard let p = model.parameter(at: path) else { continue }
            let row = p.value.count / Swift.max(filters, 1)
            var m = [Float](repeating: 1, count: p.value.count)
            for f in 0..<filters where !keep[f] { for i in 0..<row { m[f * row + i] = 0 } }
            result[path] = Tensor(shape: p.shape, scalars: m)
        }
        return MaskSet(result)
    }
}

/// The linear filter-count schedule of Bartoldson et al. (METHODS.md §15.3,
/// `utils.py::pruning_scheduler`): with `N` filters, final kept count `K = ⌈(1 − fraction)·N⌉`
/// and `J` pruning events, the kept count after event `j` (1…J) is `⌈K + (N − K)·(J − j)/J⌉`, so
/// about the same number of filters goes at every event and exactly `K` remain after the last.
public enum FilterSchedule {
    /// `⌈(1 − fraction)·N⌉`, with a 1e-9 tolerance so `(1 − 0.9)·50 = 5.000…01` keeps 5, not 6.
    public static func finalKept(filters n: Int, fraction: Double) -> Int {
        Swift.min(n, Swift.max(0, Int(((1 - fraction) * Double(n) - 1e-9).rounded(.up))))
    }

    /// Kept filters after event `j` of `events` (j = 0: all `n`).
    public static func kept(filters n: Int, fraction: Double, event j: Int, of events: Int) -> Int {
        precondition(events >= 1 && (0...events).contains(j), "FilterSchedule.kept: event \(j) of \(events)")
        let k = finalKept(filters: n, fraction: fraction)
        // K + ⌈(N − K)(J − j) / J⌉ in integers (K is an integer, so the ceiling moves inside).
        return k + ((n - k) * (events - j) + events - 1) / events
    }
}
