/// Masked-language-model pre-training for ``TinyBert`` (BERT's recipe): 15 % of the real tokens
/// (never `[CLS]`, `[SEP]` or padding) are chosen; of those 80 % become `[MASK]`, 10 % a random
/// token and 10 % stay; the loss is the cross-entropy of a linear head over the vocabulary at the
/// chosen positions only. The head (`[vocab, dim]` weight and bias) is not part of the classifier's
/// state dict; it lives beside the model for the pre-training phase.
public final class MaskedLanguageModeling {
    public let head: Linear
    public let vocabulary: Int
    public let probability: Double

    public init(dim: Int, vocabulary: Int, probability: Double = 0.15, rng: inout RandomGenerator) {
        head = Linear(dim, vocabulary, rng: &rng)
        self.vocabulary = vocabulary
        self.probability = probability
    }

    /// Special ids that are never chosen: `[PAD]`=0, `[CLS]`=2, `[SEP]`=3 (see ``Vocabulary``).
    static let protected: Set<Int> = [0, 2, 3]
    static let maskID = 4

    /// The corrupted batch, the flat positions chosen, and the original ids there.
    public func corrupt(_ batch: TokenBatch, rng: inout RandomGenerator) -> (TokenBatch, positions: [Int], targets: [Int]) {
        var ids = batch.ids
        var positions: [Int] = [], targets: [Int] = []
        for i in ids.indices where batch.mask[i] != 0 && !Self.protected.contains(ids[i]) {
            guard rng.nextUnit() < probability else { continue }
            positions.append(i)
            targets.append(ids[i])
            let r = rng.nextUnit()
            if r < 0.8 { ids[i] = Self.maskID } else if r < 0.9 { ids[i] = 5 + Int(rng.next() % UInt64(Swift.max(vocabulary - 5, 1))) }
        }
        if positions.isEmpty, let first = ids.indices.first(where: { batch.mask[$0] != 0 && !Self.protected.contains(ids[$0]) }) {
            positions = [first]; targets = [ids[first]]; ids[first] = Self.maskID
        }
        return (TokenBatch(ids: ids, mask: batch.mask, batch: batch.batch, length: batch.length), positions, targets)
    }

    /// The training loss hook for ``Trainer`` (`TrainingHooks.loss`).
    public func loss(_ model: TinyBert, batch: LabeledBatch, context: ForwardContext) -> CustomLoss {
        guard case let .tokens(tokens) = batch.input else { preconditionFailure("masked-LM pre-training needs token input") }
        let (corrupted, positions, targets) = corrupt(tokens, rng: &context.rng)
        let hidden = model.hiddenStates(corrupted, context: context)           // [B, T, E]
        let flat = hidden.reshaped([tokens.batch * tokens.length, hidden.shape[2]])
        let logits = head.forward(flat.indexSelect(axis: 0, indices: positions), context: context)
        return CustomLoss(loss: crossEntropy(logits: logits, labels: targets), logits: logits, labels: targets)
    }
}
