/// Shape arithmetic shared by every op: element counts, row-major strides and NumPy broadcasting.
extension Array where Element == Int {
    /// Product of the dimensions (1 for a scalar shape `[]`).
    public var elementCount: Int { reduce(1, *) }

    /// Row-major strides, in elements.
    public var rowMajorStrides: [Int] {
        var strides = [Int](repeating: 1, count: count)
        var running = 1
        for axis in stride(from: count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= self[axis]
        }
        return strides
    }
}

public enum Broadcast {
    /// The NumPy broadcast of two shapes: right-aligned, each pair of dimensions equal or one of them 1.
    public static func shape(_ a: [Int], _ b: [Int], op: String = "broadcast") throws -> [Int] {
        let rank = Swift.max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard da == db || da == 1 || db == 1 else {
                throw TensorError.shapeMismatch(op: op, shapes: [a, b], detail: "dimension \(i) is \(da) vs \(db)")
            }
            result[i] = da == 1 ? db : da
        }
        return result
    }

    /// Strides that read a tensor of `shape` as if it had `target` shape: 0 along broadcast axes.
    static func strides(of shape: [Int], broadcastTo target: [Int]) -> [Int] {
        let own = shape.rowMajorStrides
        let lead = target.count - shape.count
        return (0..<target.count).map { i in
            i < lead || shape[i - lead] == 1 ? 0 : own[i - lead]
        }
    }

    /// The axes (of `target`) summed over to reduce a gradient of `target` shape back to `shape`.
    static func reducedAxes(from target: [Int], to shape: [Int]) -> [Int] {
        let lead = target.count - shape.count
        return (0..<target.count).filter { i in i < lead || (shape[i - lead] == 1 && target[i] != 1) }
    }
}

/// Normalises a possibly negative axis (`-1` is the last) against a rank.
@inline(__always)
func normalizeAxis(_ axis: Int, rank: Int, op: String) -> Int {
    let result = axis < 0 ? axis + rank : axis
    precondition(result >= 0 && result < Swift.max(rank, 1), "\(op): axis \(axis) out of range for rank \(rank)")
    return result
}
