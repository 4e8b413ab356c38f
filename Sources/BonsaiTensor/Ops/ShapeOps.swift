/// Reshaping, transposition, broadcasting, concatenation, slicing and gathering.
extension Tensor {
    /// The same elements with a new shape (one dimension may be −1). Shares storage.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshaped: cannot infer −1 in \(newShape) for \(count) elements")
            target[inferred] = count / known
        }
        precondition(target.elementCount == count, "reshaped: \(shape) (\(count) elements) to \(newShape)")
        if target == shape { return self }
        let out = Tensor(storage: storage, shape: target, offset: offset)
        return out.recording(.reshape(self), inputs: [self])
    }

    /// Keeps axes before `axis` and merges the rest into one (PyTorch `flatten(start_dim)`).
    public func flattened(from axis: Int = 1) -> Tensor {
        let axis = normalizeAxis(axis, rank: rank, op: "flattened")
        return reshaped(Array(shape[..<axis]) + [shape[axis...].reduce(1, *)])
    }

    /// Inserts an axis of size 1.
    public func unsqueezed(at axis: Int) -> Tensor {
        var s = shape
        s.insert(1, at: axis < 0 ? axis + rank + 1 : axis)
        return reshaped(s)
    }

    /// Axis `i` of the result is axis `perm[i]` of this tensor.
    public func permuted(_ perm: [Int]) -> Tensor {
        precondition(perm.sorted() == Array(0..<rank), "permuted: \(perm) is not a permutation of 0..<\(rank)")
        if perm == Array(0..<rank) { return self }
        return Layout.permute(self, perm).recording(.permute(self, perm), inputs: [self])
    }

    /// Swaps two axes (by default the last two).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var perm = Array(0..<rank)
        perm.swapAt(normalizeAxis(a, rank: rank, op: "transposed"), normalizeAxis(b, rank: rank, op: "transposed"))
        return permuted(perm)
    }

    /// Broadcasts (expands) to `target` by copying.
    public func broadcast(to target: [Int]) -> Tensor {
        if target == shape { return self }
        precondition((try? Broadcast.shape(shape, target)) == target, "broadcast(to:): \(shape) does not broadcast to \(target)")
        return Layout.broadcast(self, to: target).recording(.broadcast(self), inputs: [self])
    }

    /// Concatenates tensors of equal shape except along `axis`.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat: no tensors")
        let first = parts[0]
        let axis = normalizeAxis(axis, rank: first.rank, op: "concat")
        for part in parts {
            precondition(part.dtype == first.dtype && part.rank == first.rank
                         && part.shape.enumerated().allSatisfy { $0.offset == axis || $0.element == first.shape[$0.offset] },
                         "concat: shapes \(parts.map(\.shape)) differ outside axis \(axis)")
        }
        var shape = first.shape
        shape[axis] = parts.map { $0.shape[axis] }.reduce(0, +)
        var out = Tensor.empty(shape, dtype: first.dtype)
        var start = 0
        for part in parts {
            Layout.copySlab(from: part, into: &out, axis: axis, start: start)
            start += part.shape[axis]
        }
        return out.recording(.concat(parts, axis: axis), inputs: parts)
    }

    /// `length` entries from `start` along `axis`. A slice along axis 0 shares storage.
    public func sliced(axis: Int = 0, start: Int, length: Int) -> Tensor {
        let axis = normalizeAxis(axis, rank: rank, op: "sliced")
        precondition(start >= 0 && length >= 0 && start + length <= shape[axis],
                     "sliced: [\(start), \(start + length)) outside axis \(axis) of \(shape)")
        let out: Tensor
        if axis == 0 {
            var s = shape
            s[0] = length
            out = Tensor(storage: storage, shape: s, offset: offset + start * strides[0])
        } else {
            out = Layout.slice(self, axis: axis, start: start, length: length)
        }
        return out.recording(.slice(self, axis: axis, start: start), inputs: [self])
    }

    /// Entries at `indices` along `axis` (repeats allowed), e.g. embedding rows or a batch.
    public func indexSelect(axis: Int = 0, indices: [Int]) -> Tensor {
        let axis = normalizeAxis(axis, rank: rank, op: "indexSelect")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < shape[axis] },
                     "indexSelect: index out of range for axis \(axis) of \(shape)")
        return Layout.indexSelect(self, axis: axis, indices: indices)
            .recording(.indexSelect(self, axis: axis, indices: indices), inputs: [self])
    }
}
