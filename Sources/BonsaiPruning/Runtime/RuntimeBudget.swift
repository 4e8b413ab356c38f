import Foundation

/// The geometry of one gated conv layer: what the budget arithmetic of METHODS.md §13.3 needs.
public struct GatedLayerShape: Codable, Sendable, Equatable {
    public var inChannels: Int
    public var outChannels: Int
    /// `kh · kw`.
    public var kernelArea: Int
    /// `Ho · Wo` of the layer's output.
    public var outputPositions: Int

    public init(inChannels: Int, outChannels: Int, kernelArea: Int, outputPositions: Int) {
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernelArea = kernelArea; self.outputPositions = outputPositions
    }

    /// MACs per (input channel, output channel) pair: `macs_l = k² · Ho · Wo`.
    public var macsPerPair: Int { kernelArea * outputPositions }
}

/// Budget arithmetic and the reward of METHODS.md §13.3.
///
/// With kept channel counts `k_l` (and `k_0 = C_0`, the network's input channels, never pruned):
/// - realised MAC fraction `c = Σ_l macs_l · k_{l−1} · k_l / Σ_l macs_l · C_{l−1} · C_l`;
/// - realised parameter fraction `p = Σ_l k² · k_{l−1} · k_l / Σ_l k² · C_{l−1} · C_l` (the gated
///   convs' weights; storage of the classifier is outside the agents' control);
/// - `cap(b)` is the same sum with `k_l = b · C_l` (unrounded) for l ≥ 1 and the input channels
///   not scaled: `cap = Σ_l macs_l · (b·C_{l−1} or C_0) · b·C_l / total`.
///
/// The **reward** computes `c` from `round(C_l · r_l)` of the agents' ratios, as the reference does
/// (``roundedCount(_:channels:)``, ``RuntimePolicy/rewardCounts()``), while the network keeps
/// `ceil(C_l · r_l)` channels and the *reported* (realised) fractions use those kept counts. An
/// earlier version rewarded the realised (ceil) counts: under sampling noise `ceil` adds half a
/// channel per layer on average, so the agents were charged ≈ 2–3 % more MACs than they chose
/// and settled correspondingly lower (docs/runtime-pruning.md).
public struct RuntimeBudget: Codable, Sendable, Equatable {
    public var layers: [GatedLayerShape]

    /// Over-budget temperature, penalty scale and under-budget bonus (§13.5).
    public static let temperature = 0.03
    public static let penaltyScale = 1.2
    public static let bonusScale = 0.1

    public init(layers: [GatedLayerShape]) {
        precondition(!layers.isEmpty, "RuntimeBudget: no gated layers")
        for (a, b) in zip(layers, layers.dropFirst()) {
            precondition(a.outChannels == b.inChannels, "RuntimeBudget: layer widths \(a.outChannels) → \(b.inChannels) do not chain")
        }
        self.layers = layers
    }

    /// `round(C · r)` (ties to even, as `torch.round`), at least 1 and at most `C`: the channel
    /// count the reward charges for a keep-ratio `r`.
    public static func roundedCount(_ r: Double, channels c: Int) -> Int {
        Swift.max(1, Swift.min(c, Int((Swift.max(0, r) * Double(c)).rounded(.toNearestOrEven))))
    }

    /// Dense MACs of the gated layers per sample.
    public var totalMACs: Double { weightedSum(counts(keptFraction: nil), \.macsPerPair) }

    /// Dense conv weights of the gated layers.
    public var totalParameters: Double { weightedSum(counts(keptFraction: nil), \.kernelArea) }

    /// `Σ_l w_l · k_{l−1} · k_l` with `k_0 = C_0`.
    func weightedSum(_ kept: [Double], _ weight: KeyPath<GatedLayerShape, Int>) -> Double {
        precondition(kept.count == layers.count, "RuntimeBudget: \(kept.count) counts for \(layers.count) layers")
        var total = 0.0
        var previous = Double(layers[0].inChannels)
        for (l, layer) in layers.enumerated() {
            total += Double(layer[keyPath: weight]) * previous * kept[l]
            previous = kept[l]
        }
        return total
    }

    func counts(keptFraction b: Double?) -> [Double] { layers.map { Double($0.outChannels) * (b ?? 1) } }
    func fraction(numerator: [Double], weights: KeyPath<GatedLayerShape, Int>) -> Double {
        weightedSum(numerator, weights) / weightedSum(counts(keptFraction: nil), weights)
    }

    /// Realised MAC fraction `c` for kept output channel counts per layer.
    public func macFraction(kept: [Int]) -> Double { fraction(numerator: kept.map(Double.init), weights: \.macsPerPair) }

    /// Realised parameter (storage) fraction for kept output channel counts per layer.
    public func parameterFraction(kept: [Int]) -> Double { fraction(numerator: kept.map(Double.init), weights: \.kernelArea) }

    /// `cap_MAC(b)`.
    public func macCap(budget b: Double) -> Double { fraction(numerator: counts(keptFraction: b), weights: \.macsPerPair) }

    /// `cap_param(b)`.
    public func parameterCap(budget b: Double) -> Double { fraction(numerator: counts(keptFraction: b), weights: \.kernelArea) }

    /// Dynamic agent's budget term: `−1.2 (exp((c − cap)/0.03) − 1)` over the cap, `+0.1 (cap − c)` under it.
    public static func macTerm(_ c: Double, cap: Double) -> Double {
        c > cap ? -penaltyScale * (Foundation.exp((c - cap) / temperature) - 1) : bonusScale * (cap - c)
    }

    /// Static agent's budget term: the same penalty over the cap, no bonus under it.
    public static func parameterTerm(_ p: Double, cap: Double) -> Double {
        p > cap ? -penaltyScale * (Foundation.exp((p - cap) / temperature) - 1) : 0
    }
}

/// The running mean of the cross-entropy that normalises the performance term `−CE / mean(CE)`:
/// a plain average over the first 200 updates, then an exponential average with weight 0.995.
public struct RunningMean: Codable, Sendable, Equatable {
    public private(set) var value = 0.0
    public private(set) var updates = 0
    public static let warmup = 200
    public static let decay = 0.995

    public init() {}

    public mutating func update(_ x: Double) {
        updates += 1
        if updates <= Self.warmup {
            value += (x - value) / Double(updates)
        } else {
            value = Self.decay * value + (1 - Self.decay) * x
        }
    }

    /// `−ce / mean` (the mean floored at 1e-8).
    public func performance(_ ce: Double) -> Double { -ce / Swift.max(value, 1e-8) }
}
