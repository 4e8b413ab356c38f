/// A seeded, reproducible random number generator (xoshiro256**, seeded through SplitMix64).
///
/// Its whole state is four words and `Codable`, so a training checkpoint can store it and a resumed
/// run draws exactly the numbers an uninterrupted run would have drawn.
public struct RandomGenerator: RandomNumberGenerator, Codable, Hashable, Sendable {
    public private(set) var state: [UInt64]

    public init(seed: UInt64) {
        var mixer = seed
        state = (0..<4).map { _ in RandomGenerator.splitMix(&mixer) }
    }

    /// Restores a generator from a saved ``state``.
    public init(state: [UInt64]) throws {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw TensorError.invalidArgument(op: "RandomGenerator", detail: "state must be 4 words, not all zero")
        }
        self.state = state
    }

    /// Decodes a saved generator, validating the state like ``init(state:)`` (a checkpoint is user
    /// data: a wrong word count would otherwise trap in ``next()``, an all-zero state repeat 0 forever).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(state: container.decode([UInt64].self, forKey: .state))
    }

    private static func splitMix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((state[1] &* 5) << 7 | (state[1] &* 5) >> 57) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = (state[3] << 45) | (state[3] >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Standard normal (Box–Muller; one of the pair is discarded so the stream position is simple).
    public mutating func nextNormal() -> Double {
        var u1 = nextUnit()
        while u1 <= 0 { u1 = nextUnit() }
        let u2 = nextUnit()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }

    /// A child generator for an independent stream (e.g. one per data-loader worker).
    public mutating func fork() -> RandomGenerator {
        RandomGenerator(seed: next())
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#endif
