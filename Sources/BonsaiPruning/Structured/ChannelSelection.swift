/// Per-channel importance scores.
public enum ChannelScores {
    /// `‖W_j‖₁`, the L1 norm of each output filter of the producer (Li et al. 2017), on the
    /// effective (masked) weights.
    public static func filterL1(_ model: Module, groups: [ChannelGroup]) -> [[Double]] {
        groups.map { group in
            let w = Engine.withoutGrad { model.parameter(at: group.producer + ".weight")!.effective.doubles }
            let row = w.count / group.channels
            return (0..<group.channels).map { j in
                var s = 0.0
                for i in j * row ..< (j + 1) * row { s += Swift.abs(w[i]) }
                return s
            }
        }
    }

    /// `|γ_j|`, the batch-norm scale of each channel (network slimming, polarization). Throws when a
    /// group has no batch norm.
    public static func normScale(_ model: Module, groups: [ChannelGroup], method: String) throws -> [[Double]] {
        try groups.map { group in
            guard let path = group.scalePath, let gamma = model.parameter(at: path) else {
                throw PruningError.unsupportedModel(method: method, detail: "channel group '\(group.name)' has no batch norm scale")
            }
            return Engine.withoutGrad { gamma.effective.doubles }.map { Swift.abs($0) }
        }
    }
}

/// Exact channel selection. Channels already removed (`current`) stay removed and count towards
/// the target; no group is ever emptied (its best channel is kept), because a layer without
/// channels disconnects the network — network slimming's reference code can empty a layer and
/// needs a mask work-around for it (METHODS.md §11.3); we skip such a channel and take the next
/// candidate instead, so counts stay exact. Ties are broken by position (group order, then channel
/// index: the lower position is pruned first), as in ``TopK``.
public enum ChannelSelection {
    /// Prunes the fraction `ratio` of channels, in every group separately (`layerwise`:
    /// `round(ratio·C_l)` per group, capped at `C_l − 1`) or over all groups at once (`global`:
    /// `round(ratio·ΣC_l)` lowest scores). Scores of different layers are compared as they are.
    public static func select(_ scores: [[Double]], groups: [ChannelGroup], ratio: Double, scope: Scope,
                              current: ChannelMaskSet = ChannelMaskSet()) -> ChannelMaskSet {
        precondition(scores.count == groups.count, "ChannelSelection.select: \(scores.count) score lists for \(groups.count) groups")
        precondition((0...1).contains(ratio), "ChannelSelection.select: ratio \(ratio) outside [0, 1]")
        switch scope {
        case .layerwise:
            var result: [ChannelMask] = []
            for (g, group) in groups.enumerated() {
                let target = Swift.min(Int((ratio * Double(group.channels)).rounded()), group.channels - 1)
                result += prune([group], [scores[g]], target: target, current: current).masks.values
            }
            return ChannelMaskSet(result)
        case .global:
            let total = groups.reduce(0) { $0 + $1.channels }
            return prune(groups, scores, target: Int((ratio * Double(total)).rounded()), current: current)
        }
    }

    /// Prunes every channel with score `≤ thresholds[g]` in group `g` (and those already removed),
    /// keeping at least the best channel of each group.
    public static func threshold(_ scores: [[Double]], groups: [ChannelGroup], thresholds: [Double],
                                 current: ChannelMaskSet = ChannelMaskSet()) -> ChannelMaskSet {
        var result: [ChannelMask] = []
        for (g, group) in groups.enumerated() {
            let alive = current[group.name].map { Set($0.kept) } ?? Set(0..<group.channels)
            var kept = (0..<group.channels).filter { alive.contains($0) && scores[g][$0] > thresholds[g] }
            if kept.isEmpty, let best = bestChannel(scores[g], alive: alive) { kept = [best] }
            result.append(ChannelMask(group: group.name, kept: kept, channels: group.channels))
        }
        return ChannelMaskSet(result)
    }

    /// Prunes the `target` lowest-scoring channels over `groups` (counting those already removed).
    static func prune(_ groups: [ChannelGroup], _ scores: [[Double]], target: Int, current: ChannelMaskSet) -> ChannelMaskSet {
        var alive = groups.map { group in current[group.name].map { Set($0.kept) } ?? Set(0..<group.channels) }
        let already = zip(groups, alive).reduce(0) { $0 + $1.0.channels - $1.1.count }
        var remaining = Swift.max(0, target - already)
        var candidates: [(score: Double, group: Int, channel: Int)] = []
        for (g, set) in alive.enumerated() {
            for j in set { candidates.append((scores[g][j].isNaN ? -.infinity : scores[g][j], g, j)) }
        }
        candidates.sort { ($0.score, $0.group, $0.channel) < ($1.score, $1.group, $1.channel) }
        for c in candidates where remaining > 0 && alive[c.group].count > 1 {
            alive[c.group].remove(c.channel)
            remaining -= 1
        }
        return ChannelMaskSet(groups.enumerated().map { g, group in
            ChannelMask(group: group.name, kept: Array(alive[g]), channels: group.channels)
        })
    }

    static func bestChannel(_ scores: [Double], alive: Set<Int>) -> Int? {
        alive.sorted().max { (scores[$0].isNaN ? -.infinity : scores[$0]) < (scores[$1].isNaN ? -.infinity : scores[$1]) }
    }
}
