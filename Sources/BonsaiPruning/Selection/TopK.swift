/// Global or per-tensor selection of which weights to keep.
public enum Scope: String, Codable, Sendable, CaseIterable {
    /// One threshold over the concatenated scores of every prunable tensor.
    case global
    /// The same density in every tensor.
    case layerwise
}

/// Scores of the prunable tensors, in a fixed order (the order ties are broken in).
public struct ScoreSet {
    public var entries: [(path: String, scores: [Double])]

    public init(_ entries: [(path: String, scores: [Double])]) { self.entries = entries }

    public func scores(_ path: String) -> [Double]? { entries.first { $0.path == path }?.scores }
}

/// The exact top-k selector.
///
/// Among the entries still alive under `current` (a pruned entry can never come back), keep the
/// `K` with the highest scores and prune the rest, where `K = N − round(s·N)` for target sparsity
/// `s` over `N` entries (all entries of the scope, pruned or not). Ties are broken by position:
/// entries are ordered by (score, tensor order, flat index) and pruned from the front, so among equal
/// scores the lower position goes first. Counts are therefore exact, unlike a `≤ τ` threshold.
/// NaN scores rank lowest.
public enum TopK {
    public static func select(_ scores: ScoreSet, sparsity: Double, scope: Scope, current: MaskSet = MaskSet()) -> MaskSet {
        precondition((0...1).contains(sparsity), "TopK.select: sparsity \(sparsity) outside [0, 1]")
        switch scope {
        case .layerwise:
            var result: [String: Tensor] = [:]
            for (path, values) in scores.entries {
                let mask = selectWithin([(path, values)], sparsity: sparsity, current: current)
                result[path] = mask[path]
            }
            return MaskSet(result)
        case .global:
            return MaskSet(selectWithin(scores.entries, sparsity: sparsity, current: current))
        }
    }

    /// Keep counts for one scope.
    private static func selectWithin(_ entries: [(path: String, scores: [Double])], sparsity: Double,
                                     current: MaskSet) -> [String: Tensor] {
        let total = entries.reduce(0) { $0 + $1.scores.count }
        let keepTarget = total - Int((sparsity * Double(total)).rounded())
        // Candidates: (score, tensor index, flat index) of alive entries.
        var alive: [(score: Double, tensor: Int, index: Int)] = []
        alive.reserveCapacity(total)
        for (t, entry) in entries.enumerated() {
            let mask = current[entry.path]?.floats
            for (i, s) in entry.scores.enumerated() where mask == nil || mask![i] != 0 {
                alive.append((s.isNaN ? -.infinity : s, t, i))
            }
        }
        let pruneCount = Swift.max(0, alive.count - keepTarget)
        var keep = entries.map { [Float](repeating: 0, count: $0.scores.count) }
        for candidate in alive { keep[candidate.tensor][candidate.index] = 1 }
        if pruneCount > 0 {
            alive.sort { ($0.score, $0.tensor, $0.index) < ($1.score, $1.tensor, $1.index) }
            for candidate in alive.prefix(pruneCount) { keep[candidate.tensor][candidate.index] = 0 }
        }
        var result: [String: Tensor] = [:]
        for (t, entry) in entries.enumerated() {
            let shape = current[entry.path]?.shape ?? [entry.scores.count]
            result[entry.path] = Tensor(shape: shape, scalars: keep[t])
        }
        return result
    }
}

extension ScoreSet {
    /// Reshapes each flat result mask to its parameter's shape.
    func shaped(_ masks: MaskSet, model: Module) -> MaskSet {
        var result: [String: Tensor] = [:]
        for (path, mask) in masks.masks {
            let shape = model.parameter(at: path)?.shape ?? mask.shape
            result[path] = mask.reshaped(shape)
        }
        return MaskSet(result)
    }
}

extension TopK {
    /// ``select(_:sparsity:scope:current:)`` with masks shaped like `model`'s parameters.
    public static func select(_ scores: ScoreSet, sparsity: Double, scope: Scope, model: Module) -> MaskSet {
        let current = MaskSet(model: model)
        var flatCurrent: [String: Tensor] = [:]
        for (path, mask) in current.masks { flatCurrent[path] = mask.reshaped([mask.count]) }
        return scores.shaped(select(scores, sparsity: sparsity, scope: scope, current: MaskSet(flatCurrent)), model: model)
    }
}
