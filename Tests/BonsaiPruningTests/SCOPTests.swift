import Foundation
import Testing
@testable import BonsaiPruning

/// METHODS.md §10.7 / §18 item 10: the knockoff construction has the second-order knockoff
/// property, the mixing network with β = 1 reproduces the original network, β = 0 cuts the real
/// input off, the β phase trains β only, and selection is by the real-minus-knockoff difference.
@Suite struct SCOPTests {
    /// A random SPD covariance `B·Bᵀ + 0.1·I` and samples from `N(μ, Σ)` through its Cholesky factor.
    static func gaussian(p: Int, n: Int, seed: UInt64) throws -> (samples: [Double], sigma: [Double]) {
        var rng = RandomGenerator(seed: seed)
        let b = Tensor.normal([p, p], dtype: .float64, using: &rng).doubles
        var sigma = [Double](repeating: 0, count: p * p)
        for i in 0..<p { for j in 0..<p { for k in 0..<p { sigma[i * p + j] += b[i * p + k] * b[j * p + k] } } ; sigma[i * p + i] += 0.1 }
        let l = try GaussianKnockoffs.cholesky(sigma, p)
        let z = Tensor.normal([n, p], dtype: .float64, using: &rng).doubles
        var x = [Double](repeating: 0, count: n * p)
        for r in 0..<n { for i in 0..<p { var v = Double(i); for k in 0...i { v += l[i * p + k] * z[r * p + k] }; x[r * p + i] = v } }
        return (x, sigma)
    }

    @Test func choleskyAndInverseAreExact() throws {
        let (_, sigma) = try Self.gaussian(p: 7, n: 1, seed: 2)
        let p = 7
        let l = try GaussianKnockoffs.cholesky(sigma, p)
        let inverse = try GaussianKnockoffs.inverseSPD(sigma, p)
        for i in 0..<p {
            for j in 0..<p {
                var llt = 0.0, product = 0.0
                for k in 0..<p { llt += l[i * p + k] * l[j * p + k]; product += sigma[i * p + k] * inverse[k * p + j] }
                #expect(Swift.abs(llt - sigma[i * p + j]) < 1e-10, "L·Lᵀ[\(i),\(j)]")
                #expect(Swift.abs(product - (i == j ? 1 : 0)) < 1e-9, "Σ·Σ⁻¹[\(i),\(j)] = \(product)")
            }
        }
        #expect(throws: PruningError.self) { _ = try GaussianKnockoffs.cholesky([1, 2, 2, 1], 2) }
    }

    /// The joint covariance `G = [[Σ, Σ − sI], [Σ − sI, Σ]]` of `(X, X̃)`, exactly: `Cov(X̃) = AΣAᵀ + C = Σ`
    /// and `Cov(X, X̃) = ΣAᵀ = Σ − sI`; so swapping any coordinate between X and X̃ leaves G unchanged.
    @Test func knockoffsHaveTheSecondOrderExchangeabilityProperty() throws {
        let p = 6
        let (samples, _) = try Self.gaussian(p: p, n: 400, seed: 4)
        let k = try GaussianKnockoffs(samples: samples, count: 400, shrinkage: 0.3)
        let sigma = k.covariance, a = k.transferMatrix, c = k.noiseCovariance
        #expect(k.s > 0)
        var joint = [Double](repeating: 0, count: 4 * p * p)   // G, 2p × 2p
        for i in 0..<p {
            for j in 0..<p {
                var asa = 0.0, cross = 0.0
                for m in 0..<p {
                    cross += sigma[i * p + m] * a[j * p + m]
                    for n in 0..<p { asa += a[i * p + m] * sigma[m * p + n] * a[j * p + n] }
                }
                let knockCov = asa + c[i * p + j]
                #expect(Swift.abs(knockCov - sigma[i * p + j]) < 1e-8, "Cov(X̃)[\(i),\(j)] = \(knockCov) vs Σ = \(sigma[i * p + j])")
                let expectedCross = sigma[i * p + j] - (i == j ? k.s : 0)
                #expect(Swift.abs(cross - expectedCross) < 1e-8, "Cov(X, X̃)[\(i),\(j)] = \(cross) vs \(expectedCross)")
                joint[i * 2 * p + j] = sigma[i * p + j]
                joint[(i + p) * 2 * p + j + p] = knockCov
                joint[i * 2 * p + j + p] = cross
                joint[(j + p) * 2 * p + i] = cross
            }
        }
        // Swap coordinate j with its knockoff: G is invariant (second-order exchangeability).
        for j in 0..<p {
            var perm = Array(0..<(2 * p))
            perm.swapAt(j, j + p)
            for r in 0..<(2 * p) {
                for q in 0..<(2 * p) {
                    #expect(Swift.abs(joint[perm[r] * 2 * p + perm[q]] - joint[r * 2 * p + q]) < 1e-8, "swap \(j): G[\(r),\(q)]")
                }
            }
        }
        // Monte Carlo: knockoffs of samples drawn from the model itself reproduce the moments.
        var rng = RandomGenerator(seed: 9)
        let n = 40_000
        let l = try GaussianKnockoffs.cholesky(sigma, p)
        let z = Tensor.normal([n, p], dtype: .float64, using: &rng).doubles
        var x = [Double](repeating: 0, count: n * p)
        for r in 0..<n { for i in 0..<p { var v = k.mean[i]; for m in 0...i { v += l[i * p + m] * z[r * p + m] }; x[r * p + i] = v } }
        let xt = k.sample(Tensor(shape: [n, p], scalars: x), using: &rng).doubles
        let scale = (0..<p).map { sigma[$0 * p + $0] }.max()!
        for i in 0..<p {
            for j in 0..<p {
                var kk = 0.0, xk = 0.0
                for r in 0..<n {
                    kk += (xt[r * p + i] - k.mean[i]) * (xt[r * p + j] - k.mean[j])
                    xk += (x[r * p + i] - k.mean[i]) * (xt[r * p + j] - k.mean[j])
                }
                #expect(Swift.abs(kk / Double(n) - sigma[i * p + j]) < 0.05 * scale, "sampled Cov(X̃)[\(i),\(j)]")
                #expect(Swift.abs(xk / Double(n) - (sigma[i * p + j] - (i == j ? k.s : 0))) < 0.05 * scale, "sampled Cov(X, X̃)[\(i),\(j)]")
            }
        }
    }

    static func model(_ architecture: String, width: Double? = nil, seed: UInt64 = 1) throws -> (any Model, [ChannelGroup], PreparedData) {
        let data = try PreparedData.load(DatasetSpec(name: "digits", validation: 0), batchSize: 16, seed: seed, directory: TestData.directory)
        let options = architecture == "lenet300" ? ArchitectureOptions(hidden: [24, 12]) : architecture == "conv2" ? ArchitectureOptions() : ArchitectureOptions(width: width)
        let model = try data.makeModel(ModelSpec(architecture: architecture, options: options), seed: seed)
        return (model, try ChannelDependencies.groups(of: model), data)
    }

    @Test(arguments: [("resnet20", 4.0), ("conv2", 0.0), ("lenet300", 0.0)])
    func betaOneReproducesTheOriginalNetwork(_ architecture: String, _ width: Double) throws {
        let (model, groups, data) = try Self.model(architecture, width: width)
        let x = try data.loader.batch(epoch: 0, index: 0).input
        guard case let .dense(real) = x else { Issue.record("dense input expected"); return }
        var rng = RandomGenerator(seed: 3)
        let knock = Tensor.normal(real.shape, using: &rng)
        let ones = Dictionary(uniqueKeysWithValues: groups.map { ($0.name, Tensor.ones([$0.channels])) })
        let mixing = try KnockoffMixing(model: model, groups: groups)
        let out = Engine.withoutGrad { mixing.forward(real: real, knockoff: knock, betas: ones, training: false) }
        let expected = Engine.withoutGrad { model.forward(x, context: .evaluation) }.floats
        let got = out.sliced(axis: 0, start: 0, length: real.shape[0]).floats
        #expect(got.count == expected.count)
        for (g, e) in zip(got, expected) { #expect(Swift.abs(g - e) <= 1e-5 * Swift.max(1, Swift.abs(e)), "\(architecture): \(g) vs \(e)") }
    }

    /// With β = 0 in a chain, the real branch after the first wrapped layer is the knockoff branch.
    @Test func betaZeroCutsOffTheRealInput() throws {
        let (model, groups, data) = try Self.model("conv2")
        guard case let .dense(real) = try data.loader.batch(epoch: 0, index: 0).input else { return }
        var rng = RandomGenerator(seed: 5)
        let knock = Tensor.normal(real.shape, using: &rng), other = Tensor.normal(real.shape, using: &rng)
        let zeros = Dictionary(uniqueKeysWithValues: groups.map { ($0.name, Tensor.zeros([$0.channels])) })
        let mixing = try KnockoffMixing(model: model, groups: groups)
        let b = real.shape[0]
        let a = Engine.withoutGrad { mixing.forward(real: real, knockoff: knock, betas: zeros, training: false) }
        let c = Engine.withoutGrad { mixing.forward(real: other, knockoff: knock, betas: zeros, training: false) }
        #expect(a.sliced(axis: 0, start: 0, length: b).floats == c.sliced(axis: 0, start: 0, length: b).floats)
        #expect(a.sliced(axis: 0, start: 0, length: b).floats == a.sliced(axis: 0, start: b, length: b).floats)
    }

    /// `|γ|·(2β − 1)` (code) and `2β − 1` (paper); the ⌊ratio·C⌋ lowest go in every group.
    @Test func selectionIsByTheRealMinusKnockoffDifference() throws {
        let (model, groups, _) = try Self.model("resnet20", width: 4)
        var rng = RandomGenerator(seed: 11)
        var betas: [[Double]] = []
        for group in groups {
            let gamma = Tensor.uniform([group.channels], low: -2, high: 2, using: &rng)
            model.parameter(at: group.scalePath!)!.assign(gamma)
            betas.append(Tensor.uniform([group.channels], low: 0, high: 1, dtype: .float64, using: &rng).doubles)
        }
        for paper in [false, true] {
            let scores = SCOP.scores(model, groups: groups, betas: betas, paper: paper)
            let selected = SCOP.select(scores, groups: groups, ratio: 0.6)
            for (g, group) in groups.enumerated() {
                let gamma = model.parameter(at: group.scalePath!)!.value.doubles
                let expectedScores = betas[g].indices.map { j in (paper ? 1 : Swift.abs(gamma[j])) * (betas[g][j] - (1 - betas[g][j])) }
                for j in 0..<group.channels { #expect(Swift.abs(scores[g][j] - expectedScores[j]) < 1e-6) }
                let count = Int((0.6 * Double(group.channels)).rounded(.down))
                let lowest = Set(expectedScores.indices.sorted { (expectedScores[$0], $0) < (expectedScores[$1], $1) }.prefix(count))
                #expect(Set(selected[group.name]!.pruned) == lowest, "\(group.name) paper=\(paper)")
            }
        }
    }

    /// The β phase changes β (away from 0.5, inside [0, 1]) and nothing of the network.
    @Test func scalePhaseTrainsBetaOnly() throws {
        let (model, groups, data) = try Self.model("resnet20", width: 4)
        let spec = PipelineSpec(model: ModelSpec(architecture: "resnet20", options: ArchitectureOptions(width: 4)),
                                dataset: DatasetSpec(name: "digits", validation: 0), methodJSON: Data(#"{"name": "scop"}"#.utf8),
                                train: TrainingConfig(epochs: nil, steps: 2, batchSize: 16), seed: 1)
        let context = try PipelineContext(model: model, data: data, spec: spec)
        func snapshot() -> [String: [Float]] {
            var values = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.path, $0.parameter.value.floats) })
            for (path, module) in model.namedModules() {
                if let bn = module as? BatchNorm { values[path + ".running_mean"] = bn.runningMean.tensor?.floats; values[path + ".running_var"] = bn.runningVar.tensor?.floats }
            }
            return values
        }
        let before = snapshot()
        var settings = SCOP.Settings()
        settings.knockoffSteps = 6
        settings.lr = 0.05
        settings.covarianceSamples = 300
        let betas = try SCOP(settings: settings).trainScales(context, groups: groups, mixing: KnockoffMixing(model: model, groups: groups))
        let after = snapshot()
        for (key, value) in before { #expect(after[key] == value, "\(key) changed") }
        #expect(model.namedParameters().allSatisfy { $0.parameter.trainable }, "weights not unfrozen")
        let all = groups.flatMap { betas[$0.name]!.doubles }
        #expect(all.allSatisfy { (0...1).contains($0) })
        #expect(all.contains { Swift.abs($0 - 0.5) > 1e-3 }, "β did not move")
    }
}
