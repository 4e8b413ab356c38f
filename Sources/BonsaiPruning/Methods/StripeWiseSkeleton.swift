/// The filter skeleton of stripe-wise pruning (METHODS.md §5.1–5.2): a learnable tensor
/// `I ∈ R^{N×K×K}` per `K×K` conv, initialised to ones, that multiplies the weight stripe-wise,
///
///     W_eff = W ⊙ I[:, None, :, :]      (broadcast over the C input channels),
///
/// installed as the weight's ``Parameter/reparameterization`` so the ordinary `Conv2d` forward
/// uses it and `∂L/∂I[n,i,j] = Σ_c ∂L/∂W_eff[n,c,i,j] · W[n,c,i,j]` flows through the broadcast
/// multiply (a composite of existing ops: `reshaped` and broadcasting `*`).
///
/// A stripe is **dead** once `|I[n,i,j]| ≤ δ`: the skeleton parameter's own ``Parameter/mask``
/// gets a 0 there. The mask is only ever intersected (never revived); the optimizers keep masked
/// entries, their gradient and their momentum exactly 0, so a dead stripe stays exactly 0 through
/// weight decay and momentum (the reference code zeroes `I` and `I.grad` but not the momentum
/// buffer; see ``StripeWisePruning``).
public final class FilterSkeleton {
    /// The conv weight's parameter path.
    public let path: String
    /// The skeleton `I` (`[N, K, K]`), trained with the model.
    public let parameter: Parameter
    public let filters: Int, channels: Int, kernel: Int

    /// A skeleton for the conv weight `weight` (`[N, C, K, K]`), all ones unless `initial` is given.
    public init(path: String, weight: Parameter, initial: Tensor? = nil, mask: Tensor? = nil) {
        precondition(weight.shape.count == 4 && weight.shape[2] == weight.shape[3],
                     "FilterSkeleton(\(path)): weight \(weight.shape) is not a square conv kernel")
        (filters, channels, kernel) = (weight.shape[0], weight.shape[1], weight.shape[2])
        self.path = path
        let shape = [filters, kernel, kernel]
        if let initial { precondition(initial.shape == shape, "FilterSkeleton(\(path)): skeleton \(initial.shape), expected \(shape)") }
        parameter = Parameter(initial ?? .ones(shape, dtype: weight.value.dtype), role: .other)
        parameter.mask = mask
        parameter.applyMask()
    }

    /// `w ⊙ I[:, None, :, :]`.
    public static func apply(_ w: Tensor, skeleton: Tensor) -> Tensor {
        let s = skeleton.shape
        return w * skeleton.reshaped([s[0], 1, s[1], s[2]])
    }

    /// Installs `W ↦ W ⊙ I` on `weight` (the effective skeleton: dead stripes contribute 0).
    public func attach(to weight: Parameter) {
        let skeleton = parameter
        weight.reparameterization = { w in FilterSkeleton.apply(w, skeleton: skeleton.effective) }
    }

    /// The live indicator per stripe (`[N·K·K]`): alive under the mask and `|I| > δ`.
    public func live(threshold delta: Double) -> [Bool] {
        let values = parameter.value.doubles
        let mask = parameter.mask?.doubles
        return values.indices.map { i in Swift.abs(values[i]) > delta && (mask?[i] ?? 1) != 0 }
    }

    /// Kills every stripe with `|I| ≤ δ` (on top of the dead ones) and zeroes it. Returns the
    /// number of stripes that died in this call.
    @discardableResult
    public func threshold(_ delta: Double) -> Int {
        let alive = live(threshold: delta)
        let before = parameter.mask?.doubles.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } ?? alive.count
        let after = alive.reduce(0) { $0 + ($1 ? 1 : 0) }
        guard after < before else { return 0 }
        parameter.mask = Tensor(shape: parameter.shape, scalars: alive.map { $0 ? Float(1) : 0 })
        parameter.applyMask()
        return before - after
    }

    /// Filters with at least one live stripe.
    public func liveFilters(threshold delta: Double) -> [Int] {
        let alive = live(threshold: delta), k2 = kernel * kernel
        return (0..<filters).filter { n in (0..<k2).contains { alive[n * k2 + $0] } }
    }

    /// The element mask over the conv weight (`[N, C, K, K]`) of the stripe indicator `keep`
    /// (`[N·K·K]`): stripe `(n, i, j)` covers `W[n, :, i, j]`.
    public func weightMask(_ keep: [Bool]) -> Tensor {
        precondition(keep.count == filters * kernel * kernel, "FilterSkeleton.weightMask(\(path)): \(keep.count) stripes")
        let k2 = kernel * kernel
        var values = [Float](repeating: 0, count: filters * channels * k2)
        for n in 0..<filters {
            for position in 0..<k2 where keep[n * k2 + position] {
                for c in 0..<channels { values[(n * channels + c) * k2 + position] = 1 }
            }
        }
        return Tensor(shape: [filters, channels, kernel, kernel], scalars: values)
    }

    /// The stripe indicator of an element mask over the weight: a stripe is kept when any of its
    /// entries is.
    public static func stripes(ofWeightMask mask: Tensor) -> [Bool] {
        let (n, c, k2) = (mask.shape[0], mask.shape[1], mask.shape[2] * mask.shape[3])
        let m = mask.doubles
        var keep = [Bool](repeating: false, count: n * k2)
        for f in 0..<n { for ch in 0..<c { for p in 0..<k2 where m[(f * c + ch) * k2 + p] != 0 { keep[f * k2 + p] = true } } }
        return keep
    }
}
