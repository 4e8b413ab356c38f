import Foundation
import Testing
import BonsaiTensor

/// Cross-entropy (fused kernel), distillation KL divergence and MSE: PyTorch fixtures, finite
/// differences in Float64 and plain reference implementations.
@Suite struct LossTests {
    // MARK: Cross-entropy

    @Test(arguments: ["cross_entropy_0", "cross_entropy_1"])
    func crossEntropyMatchesFixture(_ name: String) throws {
        let f = try Fixture(name)
        let smoothing = try #require(f.metaDouble("label_smoothing"), "\(name): label_smoothing metadata")
        let logits = try f("input").requiringGrad()
        let labels = try f.integers("labels")
        let loss = crossEntropy(logits: logits, labels: labels, labelSmoothing: smoothing)
        #expect(loss.shape == [])
        expectClose(loss.reshaped([1]), try f("output"), "\(name) output")
        expectClose(gradients(of: loss, withRespectTo: [logits])[0], try f("grad_input"), "\(name) grad_input")
        // The validating variant computes the same thing.
        let checked = try crossEntropy(logits: logits, validatingLabels: labels, labelSmoothing: smoothing)
        #expect(checked.item == loss.item)
    }

    /// `−(1/N) Σ_r Σ_j q_rj · log softmax(x_r)_j` spelled with plain loops in Double.
    static func referenceCrossEntropy(_ logits: Tensor, _ labels: [Int], _ eps: Double) -> Double {
        let (n, c) = (logits.shape[0], logits.shape[1])
        let x = logits.doubles
        var total = 0.0
        for r in 0..<n {
            let row = Array(x[(r * c)..<((r + 1) * c)])
            let m = row.max()!
            let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
            for j in 0..<c {
                let q = (j == labels[r] ? 1 - eps : 0) + eps / Double(c)
                total -= q * (row[j] - lse)
            }
        }
        return total / Double(n)
    }

    @Test(arguments: [([1, 1], 0.0), ([5, 1], 0.2), ([3, 7], 0.0), ([4, 10], 0.1), ([9, 33], 0.5), ([2, 5], 1.0)])
    func crossEntropyMatchesReferenceAndFiniteDifferences(_ shape: [Int], _ eps: Double) {
        let logits = randomTensor(shape, seed: UInt64(shape[0] * 100 + shape[1]), scale: 2)
        let labels = (0..<shape[0]).map { ($0 * 7 + 3) % shape[1] }
        let loss = crossEntropy(logits: logits, labels: labels, labelSmoothing: eps)
        let expected = Self.referenceCrossEntropy(logits, labels, eps)
        #expect(Swift.abs(loss.item - expected) <= 1e-12 * Swift.max(1, Swift.abs(expected)),
                "loss \(loss.item) vs reference \(expected) for \(shape), ε = \(eps)")
        expectGradientsMatch([logits], "crossEntropy \(shape) ε=\(eps)") { x in
            crossEntropy(logits: x[0], labels: labels, labelSmoothing: eps)
        }
    }

    @Test func crossEntropyGradientIsSoftmaxMinusTarget() {
        let logits = randomTensor([4, 6], seed: 11).requiringGrad()
        let labels = [0, 5, 2, 2], eps = 0.3
        let loss = crossEntropy(logits: logits, labels: labels, labelSmoothing: eps).scaled(by: 3)
        let grad = gradients(of: loss, withRespectTo: [logits])[0].doubles
        let p = logits.detached().softmax().doubles
        for r in 0..<4 {
            for j in 0..<6 {
                let q = (j == labels[r] ? 1 - eps : 0) + eps / 6
                let expected = 3 * (p[r * 6 + j] - q) / 4
                #expect(Swift.abs(grad[r * 6 + j] - expected) < 1e-14, "dlogits[\(r), \(j)]")
            }
        }
    }

    @Test func crossEntropyIsStableForHugeLogits() {
        // Logits of ±1000 overflow a naive exp; the max-subtracted kernel stays exact.
        let logits = Tensor(shape: [2, 3], scalars: [1000, 0, -1000, -1000, 1000, 999] as [Float])
        let loss = crossEntropy(logits: logits, labels: [0, 2])
        // Row 0: loss ≈ 0; row 1: lse − 999 = log(1 + e^{-1}) + 1.
        let expected = (0 + (1 + Foundation.log(1 + Foundation.exp(-1.0)))) / 2
        #expect(loss.isFinite)
        #expect(Swift.abs(loss.item - expected) < 1e-4, "\(loss.item) vs \(expected)")
        // A −∞ logit away from the label is fine without smoothing.
        let masked = Tensor(shape: [1, 3], scalars: [0, -Double.infinity, 0])
        #expect(Swift.abs(crossEntropy(logits: masked, labels: [0]).item - Foundation.log(2.0)) < 1e-15)
    }

    @Test func crossEntropyFloat32MatchesFloat64AndThreadsAgree() {
        let logits64 = randomTensor([1000, 70], seed: 5, scale: 3)
        let labels = (0..<1000).map { ($0 * 13) % 70 }
        let single = crossEntropy(logits: logits64, labels: labels, labelSmoothing: 0.1)
        let float = crossEntropy(logits: logits64.cast(to: .float32), labels: labels, labelSmoothing: 0.1)
        #expect(float.dtype == .float32)
        #expect(Swift.abs(float.item - single.item) < 1e-5 * single.item)
        let x = logits64.requiringGrad()
        let serialGrad = gradients(of: crossEntropy(logits: x, labels: labels, labelSmoothing: 0.1), withRespectTo: [x])[0]
        let (threaded, threadedGrad) = Engine.withThreads(2) {
            let loss = crossEntropy(logits: x, labels: labels, labelSmoothing: 0.1)
            return (loss.item, gradients(of: loss, withRespectTo: [x])[0])
        }
        #expect(threaded == single.item, "per-row losses are summed in a fixed order")
        #expect(threadedGrad.doubles == serialGrad.doubles)
    }

    @Test func crossEntropyValidation() {
        let logits = Tensor.zeros([3, 4])
        #expect(throws: TensorError.countMismatch(expected: 3, got: 2, detail: "crossEntropy labels for logits [3, 4]")) {
            try crossEntropy(logits: logits, validatingLabels: [0, 1])
        }
        for labels in [[0, 1, 4], [-1, 0, 0]] {
            #expect(throws: TensorError.self, "labels \(labels)") { try crossEntropy(logits: logits, validatingLabels: labels) }
            do {
                _ = try crossEntropy(logits: logits, validatingLabels: labels)
            } catch let TensorError.invalidArgument(op, detail) {
                #expect(op == "crossEntropy" && detail.contains("outside 0..<4"), "\(detail)")
            } catch {
                Issue.record("labels \(labels): unexpected error \(error)")
            }
        }
        for eps in [-0.1, 1.5, Double.nan] {
            #expect(throws: TensorError.self, "ε = \(eps)") {
                try crossEntropy(logits: logits, validatingLabels: [0, 1, 2], labelSmoothing: eps)
            }
        }
        for shape in [[4], [0, 4], [3, 0], [1, 3, 4]] {
            #expect(throws: TensorError.self, "logits \(shape)") {
                try crossEntropy(logits: Tensor.zeros(shape), validatingLabels: [0])
            }
        }
    }

    // MARK: KL divergence (distillation)

    /// `T² / B · Σ p_t (log p_t − log p_s)` with loops in Double.
    static func referenceKL(_ student: Tensor, _ teacher: Tensor, _ t: Double) -> Double {
        let (b, c) = (student.shape[0], student.shape[1])
        let s = student.doubles.map { $0 / t }, q = teacher.doubles.map { $0 / t }
        var total = 0.0
        for r in 0..<b {
            func logSoftmax(_ v: [Double]) -> [Double] {
                let row = Array(v[(r * c)..<((r + 1) * c)])
                let m = row.max()!
                let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
                return row.map { $0 - lse }
            }
            let ls = logSoftmax(s), lt = logSoftmax(q)
            for j in 0..<c { total += Foundation.exp(lt[j]) * (lt[j] - ls[j]) }
        }
        return t * t * total / Double(b)
    }

    @Test(arguments: [1.0, 2.0, 4.0])
    func klDivergenceMatchesReferenceAndGradients(_ t: Double) {
        let student = randomTensor([5, 7], seed: 21, scale: 2), teacher = randomTensor([5, 7], seed: 22, scale: 2)
        let kd = klDivergence(studentLogits: student, teacherLogits: teacher, temperature: t)
        let expected = Self.referenceKL(student, teacher, t)
        #expect(Swift.abs(kd.item - expected) < 1e-12 * Swift.max(1, expected), "T = \(t): \(kd.item) vs \(expected)")
        expectGradientsMatch([student, teacher], differentiable: [true, false], "klDivergence T=\(t)") { x in
            klDivergence(studentLogits: x[0], teacherLogits: x[1], temperature: t)
        }
        // ∂KD/∂s = (T/B)(p_s − p_t); the teacher gets nothing.
        let s = student.requiringGrad(), q = teacher.requiringGrad()
        let grads = gradients(of: klDivergence(studentLogits: s, teacherLogits: q, temperature: t), withRespectTo: [s, q])
        let ps = student.scaled(by: 1 / t).softmax().doubles, pt = teacher.scaled(by: 1 / t).softmax().doubles
        let g = grads[0].doubles
        for i in 0..<g.count {
            #expect(Swift.abs(g[i] - t / 5 * (ps[i] - pt[i])) < 1e-14, "dKD/ds[\(i)] at T = \(t)")
        }
        #expect(grads[1].doubles.allSatisfy { $0 == 0 }, "teacher gradient must be zero")
    }

    @Test func klDivergenceIsZeroForEqualLogitsAndNonNegative() {
        for seed in UInt64(0)..<20 {
            let a = randomTensor([3, 6], seed: 100 + seed, scale: 3), b = randomTensor([3, 6], seed: 200 + seed, scale: 3)
            #expect(klDivergence(studentLogits: a, teacherLogits: a, temperature: 2).item == 0, "KL(p‖p) = 0, seed \(seed)")
            #expect(klDivergence(studentLogits: a, teacherLogits: b, temperature: 2).item >= 0, "KL ≥ 0, seed \(seed)")
        }
        // Shifting logits by a constant per row does not change the distribution.
        let a = randomTensor([2, 4], seed: 9)
        #expect(Swift.abs(klDivergence(studentLogits: a + 5.0, teacherLogits: a, temperature: 3).item) < 1e-12)
        // Float32 agrees with Float64.
        let b = randomTensor([2, 4], seed: 10)
        let k64 = klDivergence(studentLogits: a, teacherLogits: b, temperature: 2).item
        let k32 = klDivergence(studentLogits: a.cast(to: .float32), teacherLogits: b.cast(to: .float32), temperature: 2).item
        #expect(Swift.abs(k32 - k64) < 1e-5 * Swift.max(1, k64))
    }

    // MARK: MSE

    @Test func mseLossValueAndGradients() {
        let p = randomTensor([3, 5], seed: 31), t = randomTensor([3, 5], seed: 32)
        let expected = zip(p.doubles, t.doubles).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 15
        #expect(Swift.abs(mseLoss(p, t).item - expected) < 1e-14)
        expectGradientsMatch([p, t], "mseLoss") { x in mseLoss(x[0], x[1]) }
        let scalar = Tensor(2.5, dtype: .float64)
        #expect(mseLoss(scalar, Tensor(0.5, dtype: .float64)).item == 4)
        #expect(mseLoss(p, p).item == 0)
    }
}
