/// Losses built from existing differentiable ops (no ``Op`` case of their own): the distillation
/// KL divergence and the mean squared error.

/// Knowledge-distillation loss (Hinton et al. 2015; the distillation term of movement pruning,
/// Sanh et al. 2020):
///
///     KD = T² · (1/B) · Σ_b Σ_j p_t · (log p_t − log p_s),   p = softmax(logits / T) over the last axis
///
/// which is PyTorch's `F.kl_div(log_softmax(s/T), softmax(t/T), reduction="batchmean") · T²`, with
/// `B = shape[0]` (for logits of rank > 2 the middle axes are summed, as `batchmean` does). The
/// factor T² keeps the gradient's scale independent of the temperature: `∂KD/∂s = (T/B)(p_s − p_t)`.
///
/// The teacher is a constant: its logits are detached, so no gradient reaches the teacher even if
/// its logits were computed with grad recording on.
public func klDivergence(studentLogits: Tensor, teacherLogits: Tensor, temperature: Double = 1) -> Tensor {
    precondition(studentLogits.shape == teacherLogits.shape && studentLogits.rank >= 2,
                 "klDivergence: student \(studentLogits.shape) and teacher \(teacherLogits.shape) must be equal shapes of rank ≥ 2")
    precondition(studentLogits.dtype == teacherLogits.dtype,
                 "klDivergence: student is \(studentLogits.dtype), teacher is \(teacherLogits.dtype)")
    precondition(temperature > 0 && temperature.isFinite, "klDivergence: temperature \(temperature) must be positive")
    let inverse = 1 / temperature
    let (teacherLog, teacherProbabilities) = Engine.withoutGrad {
        let logP = teacherLogits.detached().scaled(by: inverse).logSoftmax()
        return (logP, logP.exp())
    }
    let studentLog = studentLogits.scaled(by: inverse).logSoftmax()
    let pointwise = teacherProbabilities * (teacherLog - studentLog)
    return pointwise.sum().scaled(by: temperature * temperature / Double(Swift.max(studentLogits.shape[0], 1)))
}

/// Mean squared error `(1/n) Σ (prediction − target)²` over all elements (PyTorch `F.mse_loss`
/// with the mean reduction). Gradients flow to both arguments when they require them.
public func mseLoss(_ prediction: Tensor, _ target: Tensor) -> Tensor {
    precondition(prediction.shape == target.shape && prediction.dtype == target.dtype,
                 "mseLoss: prediction \(prediction.shape) (\(prediction.dtype)) and target \(target.shape) (\(target.dtype)) differ")
    let difference = prediction - target
    return (difference * difference).mean()
}
