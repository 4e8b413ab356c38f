/// Greedy forward selection of one channel group (METHODS.md §6.2 steps 2–4; reference
/// `lushleaf/Network-Pruning-Greedy-Forward-Selection` `mobile2_prune.py`, `models/mobilenet_v2.py::Mask`).
///
/// The reference's `Mask` after a layer's activation outputs `D·a ⊙ h` (D channels, `a = 1/D`:
/// unchanged network). Selection empties the layer and adds channels one at a time: with `n`
/// channels selected (each at `a_j = 1/n`), every candidate `j` is tried at
/// `a' = (1 − γ)·a + γ·e_j`, `γ = 1/(n + 1)` — i.e. the selected channels plus `j`, each at weight
/// `1/(n+1)` — and the candidate with the smallest mini-batch cross-entropy is added.
///
/// Here the factor `D·a_j` acts on input channel `j` of the group's consumers (exact: a consumer
/// is linear in its input, and the channel has passed its batch norm and ReLU), through a
/// temporary ``Parameter/reparameterization`` `w ↦ w ⊙ c` of the consumer weight's input columns;
/// unselected channels get factor 0. ``ChannelGroup`` consumers read `block` columns per channel
/// after a flatten, so the factor is repeated `block` times.
///
/// Stopping: when the picked candidate's mini-batch top-1 is ≥ `(1 − skip_converge)·top1₀`, the
/// top-1 on the eval-train subset is computed, and selection stops once it is ≥ `(1 − tol)·top1₀`
/// (`top1₀`: that subset's top-1 of the network before this layer), or when every alive channel is
/// selected. Losses and accuracies are computed in evaluation mode (running batch-norm statistics),
/// so a candidate's score depends only on the weights and the mini-batch.
public struct GreedyLayerSelection {
    public var candidates: Int
    public var tolerance: Double
    public var skipConverge: Double

    public init(candidates: Int = 50, tolerance: Double = 0.02, skipConverge: Double = 0.05) {
        self.candidates = candidates; self.tolerance = tolerance; self.skipConverge = skipConverge
    }

    /// The outcome for one group.
    public struct Outcome: Sendable, Equatable {
        /// Selected channels, in the order they were added.
        public var selected: [Int]
        public var initialTop1: Double
        public var finalTop1: Double
    }

    /// Per input column factors of `consumer` (`[in]`): `scale[j]` repeated `block` times.
    public static func columnFactors(_ scale: [Float], consumer: ChannelConsumer) -> [Float] {
        var factors = [Float](repeating: 0, count: scale.count * consumer.block)
        for j in scale.indices { for t in 0..<consumer.block { factors[j * consumer.block + t] = scale[j] } }
        return factors
    }

    /// The channel factors `D/n` on `selected` (0 elsewhere), or 1 on `selected` without rescaling.
    public static func channelScale(channels: Int, selected: [Int], rescale: Bool) -> [Float] {
        var scale = [Float](repeating: 0, count: channels)
        let value = rescale ? Float(channels) / Float(Swift.max(selected.count, 1)) : 1
        for j in selected { scale[j] = value }
        return scale
    }

    /// Runs `body` with the consumers' input channels scaled by `scale` (restored afterwards).
    public static func withChannelScale<R>(_ model: Module, group: ChannelGroup, scale: [Float], _ body: () throws -> R) rethrows -> R {
        var saved: [(Parameter, ((Tensor) -> Tensor)?)] = []
        for consumer in group.consumers {
            guard let p = model.parameter(at: consumer.path + ".weight") else { continue }
            var view = [Int](repeating: 1, count: p.shape.count)
            view[1] = p.shape[1]
            let factors = Tensor(shape: view, scalars: columnFactors(scale, consumer: consumer)).cast(to: p.value.dtype)
            let previous = p.reparameterization
            saved.append((p, previous))
            p.reparameterization = { w in (previous?(w) ?? w) * factors }
        }
        defer { for (p, previous) in saved { p.reparameterization = previous } }
        return try body()
    }

    /// Multiplies the consumers' weight columns by `scale` in place (fixing the selection).
    public static func fold(_ model: Module, group: ChannelGroup, scale: [Float]) {
        for consumer in group.consumers {
            guard let p = model.parameter(at: consumer.path + ".weight") else { continue }
            var view = [Int](repeating: 1, count: p.shape.count)
            view[1] = p.shape[1]
            let factors = Tensor(shape: view, scalars: columnFactors(scale, consumer: consumer)).cast(to: p.value.dtype)
            p.assign(Engine.withoutGrad { p.value.detached() * factors })
        }
    }

    /// Greedily selects channels of `group` among `alive` (ascending indices). `batch(i)` is the
    /// i-th selection mini-batch; `evaluation` the eval-train subset.
    public func select(_ model: any Model, group: ChannelGroup, alive: [Int], rescale: Bool,
                       batch: (Int) -> LabeledBatch, evaluation: [LabeledBatch], rng: inout RandomGenerator,
                       cancelled: () -> Bool = { false }) throws -> Outcome {
        let initial = Evaluation.run(model, batches: evaluation).accuracy
        var selected: [Int] = []
        var remaining = alive
        var final = 0.0
        var step = 0
        while !remaining.isEmpty {
            if cancelled() { throw TrainingError.cancelled(at: TrainingPosition(step: step)) }
            let b = batch(step)
            step += 1
            // Up to `candidates` distinct channels drawn at random from the unselected alive ones.
            var pool = remaining
            var drawn: [Int] = []
            while drawn.count < Swift.min(candidates, remaining.count) {
                let i = Int(rng.next() % UInt64(pool.count))
                drawn.append(pool.remove(at: i))
            }
            var best: (loss: Double, top1: Double, channel: Int)?
            for j in drawn {
                let scale = Self.channelScale(channels: group.channels, selected: selected + [j], rescale: rescale)
                let (loss, top1) = Self.withChannelScale(model, group: group, scale: scale) {
                    Engine.withoutGrad { () -> (Double, Double) in
                        let logits = model.forward(b.input, context: .evaluation)
                        return (crossEntropy(logits: logits, labels: b.labels).item, Evaluation.accuracy(logits: logits, labels: b.labels))
                    }
                }
                let value = loss.isNaN ? Double.infinity : loss
                if best == nil || value < best!.loss { best = (value, top1, j) }
            }
            guard let pick = best else { break }
            selected.append(pick.channel)
            remaining.removeAll { $0 == pick.channel }
            if pick.top1 >= (1 - skipConverge) * initial || remaining.isEmpty {
                let scale = Self.channelScale(channels: group.channels, selected: selected, rescale: rescale)
                final = Self.withChannelScale(model, group: group, scale: scale) { Evaluation.run(model, batches: evaluation).accuracy }
                if final >= (1 - tolerance) * initial { break }
            }
        }
        return Outcome(selected: selected, initialTop1: initial, finalTop1: final)
    }
}
