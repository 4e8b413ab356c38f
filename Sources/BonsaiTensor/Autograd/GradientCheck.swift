/// Finite-difference verification of gradients, in Float64.
///
/// For a function `f` of several tensors, the check projects the output on a fixed random tensor
/// `r` (so every output element matters) and compares the analytic gradient of `L = Σ f(x) ⊙ r`
/// with the central difference `(L(x + h·e_i) − L(x − h·e_i)) / 2h` for every input element `i`.
/// The error of one element is `|analytic − numeric| / max(1, |numeric|)`: absolute for small
/// gradients, relative for large ones.
public enum GradientCheck {
    public struct Report: Sendable, CustomStringConvertible {
        /// Largest element error over all inputs.
        public var maxError: Double
        /// Which input (by position) and flat element had it.
        public var worstInput: Int
        public var worstElement: Int
        public var analytic: Double
        public var numeric: Double

        public var description: String {
            "max error \(maxError) at input \(worstInput) element \(worstElement): analytic \(analytic), numeric \(numeric)"
        }
    }

    /// Checks `f` at `inputs` (converted to Float64). `differentiable` selects which inputs are
    /// checked (default all).
    public static func check(_ inputs: [Tensor], step h: Double = 1e-6, seed: UInt64 = 7,
                             differentiable: [Bool]? = nil, _ f: ([Tensor]) -> Tensor) -> Report {
        let mask = differentiable ?? Array(repeating: true, count: inputs.count)
        let base = inputs.enumerated().map { i, t in
            mask[i] ? t.detached().cast(to: .float64).requiringGrad() : t.detached().cast(to: .float64)
        }
        var rng = RandomGenerator(seed: seed)
        let output = Engine.withGrad { f(base) }
        let projection = Tensor.normal(output.shape, dtype: .float64, using: &rng)
        let loss = Engine.withGrad { (output * projection).sum() }
        let wanted = base.enumerated().filter { mask[$0.offset] }.map(\.element)
        let analytic = gradients(of: loss, withRespectTo: wanted)

        func value(_ xs: [Tensor]) -> Double {
            Engine.withoutGrad { (f(xs) * projection).sum().item }
        }
        var report = Report(maxError: 0, worstInput: -1, worstElement: -1, analytic: 0, numeric: 0)
        var gradientIndex = 0
        for (i, input) in base.enumerated() where mask[i] {
            let grad = analytic[gradientIndex].doubles
            gradientIndex += 1
            var values = input.doubles
            for j in 0..<values.count {
                let original = values[j]
                var inputs = base.map { $0.detached() }
                values[j] = original + h
                inputs[i] = Tensor(shape: input.shape, scalars: values)
                let plus = value(inputs)
                values[j] = original - h
                inputs[i] = Tensor(shape: input.shape, scalars: values)
                let minus = value(inputs)
                values[j] = original
                let numeric = (plus - minus) / (2 * h)
                let error = Swift.abs(grad[j] - numeric) / Swift.max(1, Swift.abs(numeric))
                if error > report.maxError || report.worstInput < 0 {
                    report = Report(maxError: error, worstInput: i, worstElement: j, analytic: grad[j], numeric: numeric)
                }
            }
        }
        return report
    }
}
