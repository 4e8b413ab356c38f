/// Second-order Gaussian model-X knockoffs (Candès, Fan, Janson, Lv, "Panning for Gold: model-X
/// knockoffs", JRSS-B 2018, §3.2), SCOP's knockoff *data* (METHODS.md §10.2).
///
/// **Why this generator.** SCOP's released code draws knockoff images from a pretrained GAN whose
/// training for the knockoff conditions is not published (METHODS.md §19 item 4). Training a GAN is
/// impractical here, so we use the construction for which the knockoff conditions are provable
/// when the inputs are Gaussian, and hold for the first two moments otherwise (the "second-order
/// knockoffs" of Candès et al.): fit `X ~ N(μ, Σ)` to the training inputs (flattened to `p`
/// dimensions) and draw, for each real sample `x`,
///
///     x̃ = μ + A·(x − μ) + L_C·z,   z ~ N(0, I_p),
///     A = I − D·Σ⁻¹,   C = 2D − D·Σ⁻¹·D = L_C·L_Cᵀ,   D = s·I.
///
/// Then `(X, X̃)` has covariance `G = [[Σ, Σ − D], [Σ − D, Σ]]` (`Cov(X̃) = AΣAᵀ + C = Σ`,
/// `Cov(X, X̃) = ΣAᵀ = Σ − D`), which is invariant under swapping any coordinate `j` of `X` with
/// that of `X̃` (**exchangeability** up to second order; exact for Gaussian `X`), and `X̃` is drawn
/// from `X` and independent noise only, so `X̃ ⊥ Y | X` (**label independence**) holds by
/// construction. `C ⪰ 0` needs `0 ≤ s ≤ 2·λ_min(Σ)`.
///
/// **Choices (documented deviations).**
/// * *Shrinkage.* Image covariances are singular (constant border pixels, `n < p` for the CIFAR
///   subset), so `λ_min ≈ 0` and the equicorrelated `s = 2λ_min` would make `X̃ = X` — useless as a
///   control. We model `Σ = (1 − α)·S + α·v̄·I` (S the sample covariance, `v̄ = tr S / p`,
///   `α` = ``Settings/shrinkage``), whose `λ_min ≥ α·v̄`, and take `s = 0.9 · 2α·v̄`, so
///   `C`'s eigenvalues are ≥ `0.2·s > 0`. The knockoffs are exact second-order knockoffs *of that
///   model*, not of the raw empirical covariance.
/// * *Pairing.* The reference generator's images are independent of the real batch; model-X
///   knockoffs are drawn conditionally on it, one knockoff per real image (the construction the
///   knockoff conditions are stated for).
public struct GaussianKnockoffs: Sendable {
    /// The flattened sample size `p`.
    public let dimension: Int
    /// `μ`, `[p]`.
    public let mean: [Double]
    /// The model covariance `Σ`, `[p, p]` row-major.
    public let covariance: [Double]
    /// `D = s·I`.
    public let s: Double
    /// `A = I − sΣ⁻¹` (`[p, p]`, Float64) and the lower Cholesky factor `L_C` of `C`.
    let transfer: Tensor
    let noiseFactor: Tensor
    let meanTensor: Tensor

    /// Fits the model to `samples` (`[n, p]` row-major, n ≥ 2) with shrinkage `α ∈ (0, 1]`.
    public init(samples: [Double], count n: Int, shrinkage alpha: Double) throws {
        guard n >= 2, samples.count % n == 0, samples.count > 0 else {
            throw PruningError.invalidSetting(field: "knockoffs", detail: "need at least 2 samples, got \(n)")
        }
        guard alpha > 0 && alpha <= 1 else {
            throw PruningError.invalidSetting(field: "shrinkage", detail: "must be in (0, 1], got \(alpha)")
        }
        let p = samples.count / n
        var mu = [Double](repeating: 0, count: p)
        for i in 0..<n { for j in 0..<p { mu[j] += samples[i * p + j] } }
        for j in 0..<p { mu[j] /= Double(n) }
        var centered = samples
        for i in 0..<n { for j in 0..<p { centered[i * p + j] -= mu[j] } }
        let xc = Tensor(shape: [n, p], scalars: centered)
        var sigma = xc.transposed().matmul(xc).scaled(by: 1 / Double(n)).doubles
        var trace = 0.0
        for j in 0..<p { trace += sigma[j * p + j] }
        let vbar = trace / Double(p)
        guard vbar > 0, vbar.isFinite else {
            throw PruningError.invalidSetting(field: "knockoffs", detail: "the training inputs have no variance")
        }
        for i in 0..<p {
            for j in 0..<p { sigma[i * p + j] *= 1 - alpha }
            sigma[i * p + i] += alpha * vbar
        }
        // Symmetrise (the GEMM result is symmetric up to rounding).
        for i in 0..<p { for j in 0..<i { let m = 0.5 * (sigma[i * p + j] + sigma[j * p + i]); sigma[i * p + j] = m; sigma[j * p + i] = m } }
        let s = 0.9 * 2 * alpha * vbar
        let inverse = try Self.inverseSPD(sigma, p)
        var a = inverse, c = inverse
        for i in 0..<p {
            for j in 0..<p {
                a[i * p + j] = -s * inverse[i * p + j]
                c[i * p + j] = -s * s * inverse[i * p + j]
            }
            a[i * p + i] += 1
            c[i * p + i] += 2 * s
        }
        let lc = try Self.cholesky(c, p)
        self.dimension = p
        self.mean = mu
        self.covariance = sigma
        self.s = s
        self.transfer = Tensor(shape: [p, p], scalars: a)
        self.noiseFactor = Tensor(shape: [p, p], scalars: lc)
        self.meanTensor = Tensor(shape: [1, p], scalars: mu)
    }

    /// Fits the model to the first `limit` training inputs in the loader's epoch-0 order (no
    /// augmentation). Throws for token inputs.
    public init(loader: DataLoader, limit: Int, shrinkage: Double) throws {
        let order = Array(loader.order(epoch: 0).prefix(Swift.max(limit, 2)))
        let batch = loader.dataset.makeBatch(indices: order, augmentation: nil)
        guard batch.tokenIDs == nil else {
            throw PruningError.unsupportedModel(method: "scop", detail: "knockoff inputs need image/feature data, not tokens")
        }
        try self.init(samples: batch.inputs.doubles, count: order.count, shrinkage: shrinkage)
    }

    /// `A` and `C` as row-major arrays (for tests of the second-order property).
    public var transferMatrix: [Double] { transfer.doubles }
    public var noiseCovariance: [Double] {
        let l = noiseFactor.doubles, p = dimension
        var c = [Double](repeating: 0, count: p * p)
        for i in 0..<p { for j in 0..<p { var sum = 0.0; for k in 0...Swift.min(i, j) { sum += l[i * p + k] * l[j * p + k] }; c[i * p + j] = sum } }
        return c
    }

    /// One knockoff per row of `x` (`[B, …]` with `p` values per sample), same shape and dtype.
    public func sample(_ x: Tensor, using rng: inout RandomGenerator) -> Tensor {
        precondition(x.count == x.shape[0] * dimension, "GaussianKnockoffs.sample: \(x.shape) for p = \(dimension)")
        let b = x.shape[0]
        return Engine.withoutGrad {
            let flat = x.detached().reshaped([b, dimension]).cast(to: .float64)
            let z = Tensor.normal([b, dimension], dtype: .float64, using: &rng)
            // Rows: x̃ᵀ = μᵀ + (x − μ)ᵀAᵀ + zᵀL_Cᵀ.
            let knock = meanTensor + (flat - meanTensor).matmul(transfer.transposed()) + z.matmul(noiseFactor.transposed())
            return knock.cast(to: x.dtype).reshaped(x.shape)
        }
    }

    // MARK: Dense linear algebra (Float64, row-major; p³/6 multiply-adds each)

    /// Lower Cholesky factor `L` (`a = L·Lᵀ`); throws when `a` is not positive definite.
    static func cholesky(_ a: [Double], _ p: Int) throws -> [Double] {
        var l = [Double](repeating: 0, count: p * p)
        try l.withUnsafeMutableBufferPointer { lp in
            try a.withUnsafeBufferPointer { ap in
                for j in 0..<p {
                    var d = ap[j * p + j]
                    for k in 0..<j { d -= lp[j * p + k] * lp[j * p + k] }
                    guard d > 0, d.isFinite else {
                        throw PruningError.invalidSetting(field: "knockoffs", detail: "covariance not positive definite at \(j) of \(p)")
                    }
                    let root = d.squareRoot()
                    lp[j * p + j] = root
                    for i in (j + 1)..<Swift.max(p, j + 1) {
                        var sum = ap[i * p + j]
                        for k in 0..<j { sum -= lp[i * p + k] * lp[j * p + k] }
                        lp[i * p + j] = sum / root
                    }
                }
            }
        }
        return l
    }

    /// `a⁻¹` for a symmetric positive definite `a`: `L⁻¹` row by row (`M_i = (e_i − Σ_{k<i} L_ik M_k) / L_ii`),
    /// then `a⁻¹ = M ᵀ M` by GEMM.
    static func inverseSPD(_ a: [Double], _ p: Int) throws -> [Double] {
        let l = try cholesky(a, p)
        var m = [Double](repeating: 0, count: p * p)
        m.withUnsafeMutableBufferPointer { mp in
            l.withUnsafeBufferPointer { lp in
                for i in 0..<p {
                    let row = mp.baseAddress! + i * p
                    for k in 0..<i {
                        let f = lp[i * p + k]
                        if f == 0 { continue }
                        let other = mp.baseAddress! + k * p
                        for j in 0...k { row[j] -= f * other[j] }
                    }
                    row[i] += 1
                    let inv = 1 / lp[i * p + i]
                    for j in 0...i { row[j] *= inv }
                }
            }
        }
        let mt = Tensor(shape: [p, p], scalars: m)
        var inverse = mt.transposed().matmul(mt).doubles
        for i in 0..<p { for j in 0..<i { let v = 0.5 * (inverse[i * p + j] + inverse[j * p + i]); inverse[i * p + j] = v; inverse[j * p + i] = v } }
        return inverse
    }
}
