import Dispatch
import Testing
import BonsaiTensor

/// The graph machinery: no-grad mode, accumulation into leaves, gradients with respect to inputs
/// and intermediates, seeds, deep graphs, and Hessian-vector products against analytic Hessians.
@Suite struct AutogradTests {
    @Test func noGradModeRecordsNothing() {
        let w = randomTensor([3], seed: 1).requiringGrad()
        #expect(Engine.isGradEnabled)
        let y = Engine.withoutGrad { () -> Tensor in
            #expect(!Engine.isGradEnabled)
            let inner = Engine.withoutGrad { (w * w).exp() }
            #expect(!inner.requiresGrad && !Engine.isGradEnabled, "nested no-grad")
            let recorded = Engine.withGrad { (w * 2.0).sum() }
            #expect(recorded.requiresGrad, "withGrad inside withoutGrad records")
            return (w * w).sum() + w.sum()
        }
        #expect(Engine.isGradEnabled, "grad mode restored")
        #expect(!y.requiresGrad && !y.isLeaf)
        y.backward()
        #expect(w.grad == nil, "backward from an unrecorded result reaches nothing")
        #expect(gradients(of: y, withRespectTo: [w])[0].doubles == [0, 0, 0])
        // Grad mode is per thread: another thread records while this one is in no-grad mode.
        // (DispatchQueue.sync would run on this very thread, so use an async block and wait.)
        Engine.withoutGrad {
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var recorded = false
            DispatchQueue.global().async {
                recorded = (w * w).sum().requiresGrad
                done.signal()
            }
            done.wait()
            #expect(recorded)
        }
        // Tensors that do not require grad never carry a graph.
        let plain = randomTensor([3], seed: 2)
        #expect(!(plain * plain).requiresGrad && !plain.requiringGrad().detached().requiresGrad)
        #expect(plain.requiringGrad().isLeaf && !(plain.requiringGrad() * 2.0).isLeaf)
    }

    @Test func gradientsAccumulateAcrossBackwardCallsAndZeroGradClears() {
        let w = randomTensor([2, 3], seed: 3).requiringGrad()
        let loss = (w * w).sum()
        loss.backward()
        let once = w.grad?.doubles ?? []
        #expect(once == w.doubles.map { 2 * $0 })
        loss.backward()
        #expect(w.grad?.doubles == once.map { 2 * $0 }, "second backward doubles the gradient")
        (w * 3.0).sum().backward()
        #expect(w.grad?.doubles == once.map { 2 * $0 + 3 }, "a different loss adds its gradient")
        w.zeroGrad()
        #expect(w.grad == nil)
        loss.backward()
        #expect(w.grad?.doubles == once)
        // A copy of a leaf is the same leaf (the node is shared), as with a PyTorch parameter.
        let alias = w
        #expect(alias.grad?.doubles == once)
    }

    @Test func gradientsWithRespectToInputsAndIntermediates() {
        let x = randomTensor([4, 3], seed: 4).requiringGrad()    // an input, not a parameter
        let w = randomTensor([3, 2], seed: 5).requiringGrad()
        let h = x.matmul(w)
        let loss = (h.tanh() * h).sum()
        let grads = gradients(of: loss, withRespectTo: [x, h, w, randomTensor([2], seed: 6).requiringGrad(), randomTensor([1], seed: 7)])
        // dL/dh = tanh(h) + h(1 − tanh²h); dL/dx = dL/dh · Wᵀ.
        let hv = h.doubles
        let dh = hv.map { Foundation_tanh($0) + $0 * (1 - Foundation_tanh($0) * Foundation_tanh($0)) }
        #expect(zip(grads[1].doubles, dh).allSatisfy { Swift.abs($0 - $1) < 1e-12 }, "dL/dh")
        let dx = Tensor(shape: [4, 2], scalars: dh).matmul(w.detached().transposed()).doubles
        #expect(zip(grads[0].doubles, dx).allSatisfy { Swift.abs($0 - $1) < 1e-12 }, "dL/dx")
        #expect(grads[3].doubles == [0, 0] && grads[4].doubles == [0], "unrelated tensors get zeros")
        #expect(x.grad == nil && w.grad == nil, "gradients(of:) leaves .grad alone")
        expectGradientsMatch([x.detached(), w.detached()], "tanh(h)·h") { t in
            let h = t[0].matmul(t[1])
            return (h.tanh() * h).sum()
        }
    }

    @Test func sharedSubexpressionsSumTheirGradients() {
        let x = randomTensor([5], seed: 8).requiringGrad()
        let y = x * x + x.exp() * x + x            // x used four times
        let g = gradients(of: y.sum(), withRespectTo: [x])[0].doubles
        for (i, v) in x.doubles.enumerated() {
            let expected = 2 * v + Foundation_exp(v) * (v + 1) + 1
            #expect(Swift.abs(g[i] - expected) < 1e-12)
        }
    }

    @Test func seededBackwardOfANonScalar() {
        let x = Tensor(shape: [3], scalars: [1.0, 2, 3]).requiringGrad()
        let y = x * x
        y.backward(seed: Tensor(shape: [3], scalars: [1.0, 10, 100]))
        #expect(x.grad?.doubles == [2, 40, 600])
        // A Float32 seed for a Float64 output is converted.
        x.zeroGrad()
        y.backward(seed: Tensor(shape: [3], scalars: [1, 1, 1] as [Float]))
        #expect(x.grad?.doubles == [2, 4, 6] && x.grad?.dtype == .float64)
    }

    @Test func deepGraphsDoNotOverflowTheStack() {
        let x = Tensor(1.0, dtype: .float64).requiringGrad()
        var y = x
        for _ in 0..<50_000 { y = y * 1.0 + 0.0 }
        #expect(gradients(of: y, withRespectTo: [x])[0].item == 1)
        y = x   // drop the 100 000-node graph: its release must not recurse that deep
        #expect(y.isLeaf)
    }

    // MARK: Hessian-vector products

    /// f(x) = Σ (A·x)³: H = 6·Aᵀ diag(A·x) A, so H·v = 6·Aᵀ((A·x) ⊙ (A·v)).
    @Test(arguments: DType.allCases)
    func hessianVectorProductOfACubic(_ dtype: DType) {
        let a = randomTensor([5, 4], seed: 9).cast(to: dtype)
        let x = randomTensor([4, 1], seed: 10, scale: 0.5).cast(to: dtype)
        let v = randomTensor([4, 1], seed: 11).cast(to: dtype)
        let hv = hessianVectorProduct(at: [x], direction: [v]) { p in a.matmul(p[0]).pow(3).sum() }[0]
        let ax = a.matmul(x).doubles, av = a.matmul(v).doubles
        let inner = Tensor(shape: [5, 1], scalars: zip(ax, av).map { 6 * $0 * $1 })
        let expected = a.cast(to: .float64).transposed().matmul(inner).doubles
        let tolerance = dtype == .float64 ? 1e-7 : 1e-2
        #expect(hv.dtype == dtype && hv.shape == [4, 1])
        #expect(Self.relativeError(hv.doubles, expected) < tolerance, "\(dtype): H·v \(hv.doubles) vs \(expected)")
    }

    /// f(x) = xᵀQx with Q not symmetric: H = Q + Qᵀ.
    @Test(arguments: DType.allCases)
    func hessianVectorProductOfAQuadraticForm(_ dtype: DType) {
        let q = randomTensor([6, 6], seed: 12).cast(to: dtype)
        let x = randomTensor([6, 1], seed: 13).cast(to: dtype), v = randomTensor([6, 1], seed: 14).cast(to: dtype)
        let hv = hessianVectorProduct(at: [x], direction: [v]) { p in (p[0].transposed().matmul(q).matmul(p[0])).sum() }[0]
        let q64 = q.cast(to: .float64), v64 = v.cast(to: .float64)
        let expected = (q64.matmul(v64) + q64.transposed().matmul(v64)).doubles
        #expect(Self.relativeError(hv.doubles, expected) < (dtype == .float64 ? 1e-8 : 1e-3), "\(dtype)")
    }

    /// Two parameters with a mixed Hessian: f(a, b) = Σ (a ⊙ b)².
    @Test func hessianVectorProductOverSeveralParameters() {
        let a = randomTensor([3], seed: 15), b = randomTensor([3], seed: 16)
        let va = randomTensor([3], seed: 17), vb = randomTensor([3], seed: 18)
        let hv = hessianVectorProduct(at: [a, b], direction: [va, vb]) { p in (p[0] * p[1]).pow(2).sum() }
        let (x, y, u, w) = (a.doubles, b.doubles, va.doubles, vb.doubles)
        var ea = [Double](), eb = [Double]()
        for i in 0..<3 {
            let (xi, yi, ui, wi) = (x[i], y[i], u[i], w[i])
            let mixed: Double = 4 * xi * yi
            ea.append(2 * yi * yi * ui + mixed * wi)
            eb.append(mixed * ui + 2 * xi * xi * wi)
        }
        #expect(Self.relativeError(hv[0].doubles, ea) < 1e-7 && Self.relativeError(hv[1].doubles, eb) < 1e-7)
        let zero = hessianVectorProduct(at: [a], direction: [Tensor.zeros([3], dtype: .float64)]) { p in p[0].pow(3).sum() }
        #expect(zero[0].doubles == [0, 0, 0])
    }

    /// Gradients reaching one node from several consumers are summed in place; a backward rule that
    /// hands one gradient tensor to two inputs (`a + a`), or a gradient the caller also holds, must
    /// never be changed under anyone's feet (copy-on-write).
    @Test func fanInGradientsAreSummedWithoutAliasing() {
        let x = randomTensor([5, 3], seed: 7).requiringGrad()
        let h = x * 3.0
        // h reaches the output through `h + h` (one gradient tensor for both inputs), h·h and h.
        let y = ((h + h) * 2.0 + h * h + h).sum()
        let g = gradients(of: y, withRespectTo: [x, h])
        let hv = h.doubles, xv = x.doubles
        // dy/dh = 4 + 2h + 1; dy/dx = 3·dy/dh.
        for i in hv.indices {
            #expect(abs(g[1].doubles[i] - (5 + 2 * hv[i])) < 1e-4, "dy/dh[\(i)]")
            #expect(abs(g[0].doubles[i] - 3 * (5 + 2 * hv[i])) < 1e-4, "dy/dx[\(i)] at x = \(xv[i])")
        }
        // The same in Float64 through backward(): leaves get the same sum.
        let w = randomTensor([4], seed: 8).cast(to: .float64).requiringGrad()
        ((w + w) + (w + w) * w).sum().backward()
        let wv = w.doubles
        for i in wv.indices { #expect(abs(w.grad!.doubles[i] - (2 + 4 * wv[i])) < 1e-12) }
        // A seed the caller keeps is not modified by the accumulation.
        let seed = Tensor.ones([5, 3])
        let z = x + x
        let before = seed.doubles
        _ = gradients(of: z, withRespectTo: [x], seed: seed)
        #expect(seed.doubles == before, "the caller's seed is untouched")
    }

    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        let diff = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        return diff / Swift.max(b.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
    }
}

#if canImport(Glibc)
import Glibc
private func Foundation_tanh(_ x: Double) -> Double { Glibc.tanh(x) }
private func Foundation_exp(_ x: Double) -> Double { Glibc.exp(x) }
#endif
