/// Random tensors and the weight initialisations PyTorch defines (`torch.nn.init`), with the same
/// formulas for bounds and standard deviations (the streams differ: Bonsai has its own generator).
extension Tensor {
    /// Uniform in [low, high).
    public static func uniform(_ shape: [Int], low: Double = 0, high: Double = 1, dtype: DType = .float32,
                               using rng: inout RandomGenerator) -> Tensor {
        let values = (0..<shape.elementCount).map { _ in low + (high - low) * rng.nextUnit() }
        return Tensor(shape: shape, scalars: values).cast(to: dtype)
    }

    /// Normal with the given mean and standard deviation.
    public static func normal(_ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32,
                              using rng: inout RandomGenerator) -> Tensor {
        let values = (0..<shape.elementCount).map { _ in mean + std * rng.nextNormal() }
        return Tensor(shape: shape, scalars: values).cast(to: dtype)
    }

    /// Bernoulli(p) draws as 0/1 values.
    public static func bernoulli(_ shape: [Int], probability p: Double, dtype: DType = .float32,
                                 using rng: inout RandomGenerator) -> Tensor {
        let values = (0..<shape.elementCount).map { _ in rng.nextUnit() < p ? 1.0 : 0.0 }
        return Tensor(shape: shape, scalars: values).cast(to: dtype)
    }
}

/// Fan computation and `torch.nn.init` formulas.
public enum Initializer {
    /// `(fan_in, fan_out)` as PyTorch computes them: for a weight `[out, in, k…]`,
    /// fan_in = in·∏k and fan_out = out·∏k (so grouped convs use in/groups, as their weight does).
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "Initializer.fans: need at least 2 dimensions, got \(shape)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// The recommended gain: 1 for linear, √2 for ReLU, √(2/(1+a²)) for leaky ReLU with slope a.
    public static func gain(relu: Bool = false, leakySlope: Double? = nil) -> Double {
        if let a = leakySlope { return (2.0 / (1 + a * a)).squareRoot() }
        return relu ? 2.0.squareRoot() : 1
    }

    /// `kaiming_uniform_(w, a)` with mode fan_in: U(−b, b), b = gain·√(3/fan_in). With a = √5 this
    /// is the default of `nn.Linear` and `nn.Conv2d` (b = 1/√fan_in).
    public static func kaimingUniform(_ shape: [Int], a: Double = 5.0.squareRoot(), dtype: DType = .float32,
                                      using rng: inout RandomGenerator) -> Tensor {
        let bound = gain(leakySlope: a) * (3.0 / Double(fans(shape).fanIn)).squareRoot()
        return .uniform(shape, low: -bound, high: bound, dtype: dtype, using: &rng)
    }

    /// `kaiming_normal_(w, mode, nonlinearity='relu')`: N(0, (√2/√fan)²).
    public static func kaimingNormal(_ shape: [Int], fanOut: Bool = false, dtype: DType = .float32,
                                     using rng: inout RandomGenerator) -> Tensor {
        let f = fans(shape)
        let std = gain(relu: true) / Double(fanOut ? f.fanOut : f.fanIn).squareRoot()
        return .normal(shape, std: std, dtype: dtype, using: &rng)
    }

    /// `xavier_uniform_`: U(−b, b), b = gain·√(6/(fan_in+fan_out)).
    public static func xavierUniform(_ shape: [Int], gain g: Double = 1, dtype: DType = .float32,
                                     using rng: inout RandomGenerator) -> Tensor {
        let f = fans(shape)
        let bound = g * (6.0 / Double(f.fanIn + f.fanOut)).squareRoot()
        return .uniform(shape, low: -bound, high: bound, dtype: dtype, using: &rng)
    }

    /// `xavier_normal_`: N(0, σ²), σ = gain·√(2/(fan_in+fan_out)).
    public static func xavierNormal(_ shape: [Int], gain g: Double = 1, dtype: DType = .float32,
                                    using rng: inout RandomGenerator) -> Tensor {
        let f = fans(shape)
        return .normal(shape, std: g * (2.0 / Double(f.fanIn + f.fanOut)).squareRoot(), dtype: dtype, using: &rng)
    }

    /// The default bias of `nn.Linear`/`nn.Conv2d`: U(−1/√fan_in, 1/√fan_in) for the weight's fan_in.
    public static func biasUniform(count: Int, weightShape: [Int], dtype: DType = .float32,
                                   using rng: inout RandomGenerator) -> Tensor {
        let bound = 1 / Double(fans(weightShape).fanIn).squareRoot()
        return .uniform([count], low: -bound, high: bound, dtype: dtype, using: &rng)
    }
}
