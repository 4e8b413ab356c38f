/// L∞ adversarial examples and robust losses (METHODS.md §7.3), on normalised image inputs.
///
/// The threat model is in pixel space ([0, 1] images): the ball `‖x' − x‖∞ ≤ ε` and the clip to
/// [0, 1] are applied per channel after mapping through the data set's normalisation
/// `x̂ = (x − mean_c)/std_c`, i.e. ε_c = ε/std_c and bounds [(0 − mean_c)/std_c, (1 − mean_c)/std_c].
/// The model is in eval mode during the attack (as the reference does); gradients with respect to
/// the input come from the engine's ordinary autograd.
public struct AdversarialAttack: Sendable, Codable, Equatable {
    public var epsilon: Double
    public var stepSize: Double
    public var steps: Int
    public var normalization: Normalization?

    public init(epsilon: Double, stepSize: Double, steps: Int, normalization: Normalization?) {
        self.epsilon = epsilon
        self.stepSize = stepSize
        self.steps = steps
        self.normalization = normalization
    }

    /// Per-channel (ε, step, low, high) in normalised units, as `[1, C, 1, 1]` tensors (or scalars).
    func bounds(channels: Int, rank: Int) -> (eps: Tensor, step: Tensor, low: Tensor, high: Tensor) {
        let mean = normalization?.mean ?? Array(repeating: 0, count: channels)
        let std = normalization?.std ?? Array(repeating: 1, count: channels)
        let shape = rank == 4 ? [1, channels, 1, 1] : [1]
        func t(_ f: (Int) -> Double) -> Tensor {
            rank == 4 ? Tensor(shape: shape, scalars: (0..<channels).map { Float(f($0)) }) : Tensor(shape: shape, scalars: [Float(f(0))])
        }
        return (t { epsilon / std[$0] }, t { stepSize / std[$0] }, t { (0 - mean[$0]) / std[$0] }, t { (1 - mean[$0]) / std[$0] })
    }

    /// `Π(x' + step·sign(∇ objective))` projected on the ball around `x` and the valid pixel range.
    func project(_ candidate: Tensor, around x: Tensor, eps: Tensor, low: Tensor, high: Tensor) -> Tensor {
        let lower = maximum(x - eps, low), upper = minimum(x + eps, high)
        return minimum(maximum(candidate, lower), upper)
    }

    /// PGD on the cross-entropy (Madry et al.), random uniform start in the ball.
    public func pgd(_ model: any Model, x: Tensor, labels: [Int], rng: inout RandomGenerator) -> Tensor {
        attack(model, x: x, rng: &rng, randomStart: true) { adversarial in
            crossEntropy(logits: model.forward(.dense(adversarial), context: .evaluation), labels: labels)
        }
    }

    /// TRADES's inner maximisation of KL(p(x) ‖ p(x')), started at x + 0.001·N(0, I).
    public func tradesExample(_ model: any Model, x: Tensor, rng: inout RandomGenerator) -> Tensor {
        let clean = Engine.withoutGrad { model.forward(.dense(x), context: .evaluation) }.detached()
        return attack(model, x: x, rng: &rng, randomStart: false) { adversarial in
            klDivergence(studentLogits: model.forward(.dense(adversarial), context: .evaluation), teacherLogits: clean)
        }
    }

    private func attack(_ model: any Model, x: Tensor, rng: inout RandomGenerator, randomStart: Bool,
                        objective: (Tensor) -> Tensor) -> Tensor {
        let x = x.detached()
        let (eps, step, low, high) = bounds(channels: x.rank == 4 ? x.shape[1] : 1, rank: x.rank)
        var adversarial: Tensor = Engine.withoutGrad {
            let noise = randomStart
                ? Tensor.uniform(x.shape, low: -1, high: 1, using: &rng) * eps
                : Tensor.normal(x.shape, std: 0.001, using: &rng)
            return project(x + noise, around: x, eps: eps, low: low, high: high)
        }
        for _ in 0..<steps {
            let input = adversarial.requiringGrad()
            let gradient = Engine.withGrad { gradients(of: objective(input), withRespectTo: [input])[0] }
            adversarial = Engine.withoutGrad {
                project(adversarial + gradient.sign() * step, around: x, eps: eps, low: low, high: high)
            }
        }
        return adversarial
    }

    /// TRADES (Zhang et al. 2019): `CE(f(x), y) + β · KL(p(x) ‖ p(x'))`, the model in train mode.
    public func tradesLoss(_ model: any Model, batch: LabeledBatch, beta: Double, context: ForwardContext) -> CustomLoss {
        guard case let .dense(x) = batch.input else { preconditionFailure("TRADES needs dense (image) input") }
        let adversarial = Engine.withoutGrad { tradesExample(model, x: x, rng: &context.rng) }
        let logits = model.forward(.dense(x), context: context)
        let adversarialLogits = model.forward(.dense(adversarial), context: context)
        let loss = crossEntropy(logits: logits, labels: batch.labels)
            + klDivergenceBothWays(studentLogits: adversarialLogits, teacherLogits: logits).scaled(by: beta)
        return CustomLoss(loss: loss, logits: logits)
    }

    /// PGD adversarial training: `CE(f(x'), y)` with x' from ``pgd(_:x:labels:rng:)``.
    public func pgdLoss(_ model: any Model, batch: LabeledBatch, context: ForwardContext) -> CustomLoss {
        guard case let .dense(x) = batch.input else { preconditionFailure("PGD training needs dense (image) input") }
        let adversarial = Engine.withoutGrad { pgd(model, x: x, labels: batch.labels, rng: &context.rng) }
        let logits = model.forward(.dense(adversarial), context: context)
        return CustomLoss(loss: crossEntropy(logits: logits, labels: batch.labels), logits: logits)
    }

    /// Accuracy under this PGD attack.
    public func robustAccuracy(_ model: any Model, batches: [LabeledBatch], seed: UInt64 = 0) -> Double {
        var rng = RandomGenerator(seed: seed)
        var correct = 0, total = 0
        for batch in batches {
            guard case let .dense(x) = batch.input else { continue }
            let adversarial = pgd(model, x: x, labels: batch.labels, rng: &rng)
            let logits = Engine.withoutGrad { model.forward(.dense(adversarial), context: .evaluation) }
            correct += zip(logits.argmax(axis: -1), batch.labels).filter { $0 == $1 }.count
            total += batch.count
        }
        return total == 0 ? 0 : Double(correct) / Double(total)
    }
}

/// KL(p_teacher ‖ p_student) averaged over the batch with the gradient reaching both logits (TRADES
/// differentiates through the clean logits too; `klDivergence` treats the teacher as constant).
func klDivergenceBothWays(studentLogits: Tensor, teacherLogits: Tensor) -> Tensor {
    let logP = teacherLogits.logSoftmax(), logQ = studentLogits.logSoftmax()
    return (logP.exp() * (logP - logQ)).sum().scaled(by: 1 / Double(teacherLogits.shape[0]))
}

/// Element-wise maximum / minimum with broadcasting, differentiable where they select (via clamp-like masks).
func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
    let choose = Engine.withoutGrad { (a - b).greater(than: 0) }
    return a * choose + b * (1 - choose)
}

func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
    let choose = Engine.withoutGrad { (b - a).greater(than: 0) }
    return a * choose + b * (1 - choose)
}
