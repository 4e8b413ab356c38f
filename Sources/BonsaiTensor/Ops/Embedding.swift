/// Embedding lookup (PyTorch `F.embedding(ids, weight)`): row `ids[i]` of the `[vocabulary, dim]`
/// table for every id, the ids laid out row-major in `shape`, so the result has shape `shape + [dim]`.
///
/// Built on ``Tensor/indexSelect(axis:indices:)``, whose gradient scatter-adds: an id that occurs
/// `k` times receives the sum of its `k` output gradients, and rows never looked up get zero.
/// (PyTorch's `padding_idx`, `max_norm` and sparse gradients are not supported.)
public func embedding(_ ids: [Int], shape: [Int], weight: Tensor) -> Tensor {
    do {
        return try embedding(validating: ids, shape: shape, weight: weight)
    } catch {
        preconditionFailure("\(error)")
    }
}

/// ``embedding(_:shape:weight:)`` for ids that come from outside (a data set, a request): throws a
/// ``TensorError`` when `shape` does not hold `ids.count` ids, the table is not a matrix, or an id is
/// outside `0..<vocabulary` (the message names the first offending id and its position).
public func embedding(validating ids: [Int], shape: [Int], weight: Tensor) throws -> Tensor {
    guard weight.rank == 2 else {
        throw TensorError.shapeMismatch(op: "embedding", shapes: [shape, weight.shape], detail: "weight must be [vocabulary, dim]")
    }
    guard shape.allSatisfy({ $0 >= 0 }), shape.elementCount == ids.count else {
        throw TensorError.countMismatch(expected: shape.allSatisfy { $0 >= 0 } ? shape.elementCount : -1, got: ids.count,
                                        detail: "embedding ids of shape \(shape)")
    }
    let vocabulary = weight.shape[0]
    if let position = ids.firstIndex(where: { $0 < 0 || $0 >= vocabulary }) {
        throw TensorError.invalidArgument(op: "embedding",
                                          detail: "id \(ids[position]) at position \(position) is outside 0..<\(vocabulary) (weight \(weight.shape))")
    }
    return weight.indexSelect(axis: 0, indices: ids).reshaped(shape + [weight.shape[1]])
}
