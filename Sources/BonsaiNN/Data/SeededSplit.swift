/// Seed mixing and seeded permutations for data order, splits and augmentation.
///
/// Everything here is a pure function of its arguments and uses only code in this repository
/// (xoshiro256** from ``RandomGenerator``, SplitMix64 finalisers, Lemire's bounded integers), never
/// the standard library's `shuffle` or `random(in:)`, whose algorithms may change between Swift
/// releases. A seed therefore names the same split and the same shuffle on every toolchain.
public enum SeedMix {
    /// A well-mixed 64-bit hash of `values` (SplitMix64's finaliser applied after each word), used
    /// to derive independent seeds for (seed, epoch), (seed, epoch, sample), … .
    public static func hash(_ values: UInt64...) -> UInt64 { hash(values) }

    /// ``hash(_:)-(UInt64...)`` of an array of words.
    public static func hash(_ values: [UInt64]) -> UInt64 {
        var state = initialState
        for value in values { state = combine(state, value) }
        return state
    }

    /// `hash(a, b, c)` without the variadic array (for per-sample use in hot loops).
    @inline(__always)
    public static func hash3(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        combine(combine(combine(initialState, a), b), c)
    }

    static let initialState: UInt64 = 0x6A09_E667_F3BC_C908

    @inline(__always)
    static func combine(_ state: UInt64, _ value: UInt64) -> UInt64 {
        finalize(state ^ finalize(value &+ 0x9E37_79B9_7F4A_7C15))
    }

    @inline(__always)
    static func finalize(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (Lemire's multiply-shift with rejection; unbiased).
    @inline(__always)
    static func bounded(_ bound: Int, using generator: inout RandomGenerator) -> Int {
        precondition(bound > 0, "SeedMix.bounded: bound \(bound) must be positive")
        let range = UInt64(bound)
        var product = generator.next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = generator.next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// A permutation of `0..<count` (Fisher–Yates driven by `RandomGenerator(seed:)`).
    public static func permutation(count: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<count)
        guard count > 1 else { return order }
        var generator = RandomGenerator(seed: seed)
        order.withUnsafeMutableBufferPointer { buffer in
            for i in stride(from: count - 1, to: 0, by: -1) {
                let j = bounded(i + 1, using: &generator)
                buffer.swapAt(i, j)
            }
        }
        return order
    }
}

/// Seeded splits of a data set's indices.
public enum DataSplit {
    /// Splits `0..<count` into `(kept, heldOut)`: `heldOut` is the first `round(fraction · count)`
    /// entries of a seeded permutation. Both lists are returned sorted, so a subset keeps the file
    /// order and only the loader's shuffle decides the training order.
    public static func carve(count: Int, fraction: Double, seed: UInt64) throws -> (kept: [Int], heldOut: [Int]) {
        try validate(fraction)
        // Never hold out everything (possible by rounding for tiny sets).
        let heldCount = Swift.min(Int((Double(count) * fraction).rounded()), Swift.max(count - 1, 0))
        let order = SeedMix.permutation(count: count, seed: seed)
        return (order[heldCount...].sorted(), order[..<heldCount].sorted())
    }

    /// Like ``carve(count:fraction:seed:)`` but per class, so both parts keep the class
    /// proportions (used for the fixed test splits of sets that ship without one): within each
    /// class `c` with `n_c` samples, `round(fraction · n_c)` are held out.
    public static func stratified(labels: [Int], fraction: Double, seed: UInt64) throws -> (kept: [Int], heldOut: [Int]) {
        try validate(fraction)
        var byClass: [Int: [Int]] = [:]
        for (index, label) in labels.enumerated() { byClass[label, default: []].append(index) }
        var kept: [Int] = [], heldOut: [Int] = []
        for label in byClass.keys.sorted() {
            let members = byClass[label]!
            let heldCount = Int((Double(members.count) * fraction).rounded())
            let order = SeedMix.permutation(count: members.count, seed: SeedMix.hash(seed, UInt64(label)))
            for (rank, position) in order.enumerated() {
                if rank < heldCount { heldOut.append(members[position]) } else { kept.append(members[position]) }
            }
        }
        return (kept.sorted(), heldOut.sorted())
    }

    private static func validate(_ fraction: Double) throws {
        guard fraction.isFinite, fraction >= 0, fraction < 1 else {
            throw DataError.invalidConfiguration("split fraction \(fraction) must be in [0, 1)")
        }
    }
}
