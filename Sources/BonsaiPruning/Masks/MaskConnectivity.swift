/// Layer collapse and input→output connectivity of the masks of a feed-forward chain (METHODS.md
/// §4.7): the check that tells a pruned network that can still learn from a disconnected one.
///
/// Layers are given in forward order, each mask `[out, in]` (linear) or `[out, in, k, k]` (conv; a
/// channel pair is connected when any kernel position is kept, i.e. the masks summed over kernel
/// positions). Reachability propagates as a boolean vector: the inputs of the first layer are all
/// reachable, and output unit `o` of layer `l` is reachable when some kept connection `(o, i)` has
/// a reachable input `i`. Where a layer's fan-in is a multiple of the previous layer's width (a
/// flatten after a conv stack, `in = C·H·W`), input `i` belongs to channel `i / (in / C)`. The masks
/// are connected when some final output is reachable (equivalently, the product of the 0/1 masks
/// is non-zero). Residual networks are not chains; this check does not apply to them.
public enum MaskConnectivity {
    /// Kept entries per layer, in the given order.
    public static func keptCounts(_ masks: MaskSet, layers: [String]) -> [Int] {
        layers.map { masks.keptCount($0) }
    }

    /// Layers with no kept entry.
    public static func emptyLayers(_ masks: MaskSet, layers: [String]) -> [String] {
        layers.filter { masks[$0] != nil && masks.keptCount($0) == 0 }
    }

    /// Number of reachable output units of the last layer (0 = disconnected). Returns nil when the
    /// shapes do not form a chain.
    public static func reachableOutputs(_ masks: MaskSet, layers: [String]) -> Int? {
        var reachable: [Bool]? = nil
        for path in layers {
            guard let mask = masks[path], mask.rank >= 2 else { return nil }
            let out = mask.shape[0], fanIn = mask.shape[1], kernel = mask.count / (out * fanIn)
            // Which input unit of this layer is reachable.
            var inputReachable = [Bool](repeating: true, count: fanIn)
            if let previous = reachable {
                if previous.count == fanIn {
                    inputReachable = previous
                } else if previous.count > 0, fanIn % previous.count == 0 {
                    let per = fanIn / previous.count
                    for i in 0..<fanIn { inputReachable[i] = previous[i / per] }
                } else {
                    return nil
                }
            }
            var next = [Bool](repeating: false, count: out)
            mask.withScalars(Float.self) { m in
                for o in 0..<out {
                    var found = false
                    var i = 0
                    while !found && i < fanIn {
                        if inputReachable[i] {
                            let base = (o * fanIn + i) * kernel
                            for k in 0..<kernel where m[base + k] != 0 { found = true; break }
                        }
                        i += 1
                    }
                    next[o] = found
                }
            }
            reachable = next
        }
        return reachable?.reduce(0) { $0 + ($1 ? 1 : 0) }
    }

    /// True when an input→output path survives.
    public static func isConnected(_ masks: MaskSet, layers: [String]) -> Bool {
        (reachableOutputs(masks, layers: layers) ?? 0) > 0
    }
}
