/// Seeded random masks with exact counts, and the within-layer shuffles of the sanity checks
/// (METHODS.md §2.2 random-pruning controls, §9.2 rearrange / weight shuffling, §9.3 random tickets).
///
/// Every draw goes through ``RandomMasks/permutation(_:using:)``, a plain Fisher–Yates shuffle on
/// our own xoshiro generator, so a seed gives the same mask on every platform and toolchain (the
/// standard library's `shuffle` makes no such promise).
public enum RandomMasks {
    /// A uniformly random permutation of `0..<n` (Fisher–Yates, drawing `j ∈ [0, i]` by rejection
    /// so every permutation is equally likely).
    public static func permutation(_ n: Int, using rng: inout RandomGenerator) -> [Int] {
        var p = Array(0..<n)
        var i = n - 1
        while i > 0 {
            let j = uniform(below: i + 1, using: &rng)
            p.swapAt(i, j)
            i -= 1
        }
        return p
    }

    /// Uniform integer in `0..<bound` without modulo bias.
    static func uniform(below bound: Int, using rng: inout RandomGenerator) -> Int {
        let b = UInt64(bound)
        let limit = UInt64.max - (UInt64.max % b)
        while true {
            let x = rng.next()
            if x < limit { return Int(x % b) }
        }
    }

    /// A 0/1 mask of `shape` with exactly `kept` ones at uniformly random positions.
    public static func mask(shape: [Int], kept: Int, using rng: inout RandomGenerator) -> Tensor {
        let n = shape.reduce(1, *)
        precondition((0...n).contains(kept), "RandomMasks.mask: kept \(kept) outside 0…\(n)")
        var values = [Float](repeating: 0, count: n)
        for index in permutation(n, using: &rng).prefix(kept) { values[index] = 1 }
        return Tensor(shape: shape, scalars: values)
    }

    /// Random masks for `paths` of `model` keeping exactly `kept[path]` weights in each tensor.
    public static func masks(_ model: Module, kept: [(path: String, count: Int)], seed: UInt64) -> MaskSet {
        var rng = RandomGenerator(seed: seed)
        var result: [String: Tensor] = [:]
        for (path, count) in kept {
            let shape = model.parameter(at: path)!.shape
            result[path] = mask(shape: shape, kept: count, using: &rng)
        }
        return MaskSet(result)
    }

    /// Layer-wise rearrangement (§9.2 check 2): each mask's entries permuted at random, so every
    /// tensor keeps its count while the kept positions move.
    public static func rearranged(_ masks: MaskSet, seed: UInt64) -> MaskSet {
        var rng = RandomGenerator(seed: seed)
        var result: [String: Tensor] = [:]
        for path in masks.paths {
            let mask = masks[path]!
            result[path] = self.mask(shape: mask.shape, kept: masks.keptCount(path), using: &rng)
        }
        return MaskSet(result)
    }

    /// Weight shuffling (§9.2 check 3): the values at the kept positions of each tensor permuted
    /// among those positions (masked entries untouched).
    public static func shuffleKeptWeights(_ model: Module, masks: MaskSet, seed: UInt64) {
        var rng = RandomGenerator(seed: seed)
        for path in masks.paths {
            guard let parameter = model.parameter(at: path) else { continue }
            let m = masks[path]!.floats
            var w = parameter.value.doubles
            let kept = m.indices.filter { m[$0] != 0 }
            let values = kept.map { w[$0] }
            for (slot, source) in permutation(kept.count, using: &rng).enumerated() { w[kept[slot]] = values[source] }
            parameter.assign(Tensor(shape: parameter.shape, scalars: w))
        }
    }
}

extension RandomMasks {
    /// One uniform draw of `N − round(s·N)` kept weights over all of `paths` together.
    public static func globalMask(_ model: Module, paths: [String], sparsity: Double, seed: UInt64) -> MaskSet {
        var rng = RandomGenerator(seed: seed)
        let shapes = paths.map { model.parameter(at: $0)!.shape }
        let sizes = shapes.map { $0.reduce(1, *) }
        let total = sizes.reduce(0, +)
        let kept = total - Int((sparsity * Double(total)).rounded())
        var flat = [Float](repeating: 0, count: total)
        for index in permutation(total, using: &rng).prefix(kept) { flat[index] = 1 }
        var result: [String: Tensor] = [:]
        var offset = 0
        for (i, path) in paths.enumerated() {
            result[path] = Tensor(shape: shapes[i], scalars: Array(flat[offset..<(offset + sizes[i])]))
            offset += sizes[i]
        }
        return MaskSet(result)
    }
}
