/// Loss and top-1 accuracy of a model on some batches.
public struct EvaluationResult: Codable, Sendable, Equatable {
    /// Mean cross-entropy over examples.
    public var loss: Double
    /// Fraction of examples whose arg-max logit is the label, in [0, 1].
    public var accuracy: Double
    public var examples: Int
}

public enum Evaluation {
    /// Evaluates in eval mode without recording gradients (batch norm uses running statistics).
    public static func run(_ model: any Model, batches: [LabeledBatch]) -> EvaluationResult {
        Engine.withoutGrad {
            var totalLoss = 0.0, correct = 0, count = 0
            let context = ForwardContext.evaluation
            for batch in batches {
                let logits = model.forward(batch.input, context: context)
                totalLoss += crossEntropy(logits: logits, labels: batch.labels).item * Double(batch.count)
                correct += zip(logits.argmax(axis: -1), batch.labels).filter { $0 == $1 }.count
                count += batch.count
            }
            return EvaluationResult(loss: count > 0 ? totalLoss / Double(count) : 0,
                                    accuracy: count > 0 ? Double(correct) / Double(count) : 0, examples: count)
        }
    }

    /// Top-1 accuracy of logits against labels.
    public static func accuracy(logits: Tensor, labels: [Int]) -> Double {
        let predictions = logits.argmax(axis: -1)
        return Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(Swift.max(labels.count, 1))
    }
}
