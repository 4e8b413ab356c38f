/// Binary masks keyed by parameter path (`features.0.weight`), each a 0/1 Float32 tensor of the
/// parameter's shape. The unit every pruning method produces and every report, artifact and
/// checkpoint stores.
public struct MaskSet: Sendable {
    public var masks: [String: Tensor]

    public init(_ masks: [String: Tensor] = [:]) { self.masks = masks }

    /// The masks currently set on `model`'s parameters.
    public init(model: Module) {
        var masks: [String: Tensor] = [:]
        for (path, parameter) in model.namedParameters() { if let mask = parameter.mask { masks[path] = mask } }
        self.masks = masks
    }

    /// All-ones masks for `paths` of `model`.
    public static func dense(_ model: Module, paths: [String]) -> MaskSet {
        var masks: [String: Tensor] = [:]
        for path in paths { if let p = model.parameter(at: path) { masks[path] = .ones(p.shape) } }
        return MaskSet(masks)
    }

    public subscript(path: String) -> Tensor? {
        get { masks[path] }
        set { masks[path] = newValue }
    }

    public var paths: [String] { masks.keys.sorted() }

    /// Kept (non-zero) entries per path.
    public func keptCount(_ path: String) -> Int {
        masks[path].map { $0.floats.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } } ?? 0
    }

    /// Total entries and kept entries over all masks.
    public var counts: (total: Int, kept: Int) {
        masks.keys.reduce((0, 0)) { acc, path in (acc.0 + masks[path]!.count, acc.1 + keptCount(path)) }
    }

    /// Kept fraction over all masks (1 for an empty set).
    public var density: Double {
        let c = counts
        return c.total == 0 ? 1 : Double(c.kept) / Double(c.total)
    }

    public var sparsity: Double { 1 - density }

    /// `self ∧ other` entry-wise for paths in either (a missing mask counts as all ones). A new
    /// mask computed on top of an old one goes through this, so a pruned weight is never revived.
    public func intersected(with other: MaskSet) -> MaskSet {
        var result = masks
        for (path, mask) in other.masks {
            if let mine = masks[path] {
                precondition(mine.shape == mask.shape, "MaskSet.intersected: shapes of '\(path)' differ")
                result[path] = Engine.withoutGrad { mine * mask }
            } else {
                result[path] = mask
            }
        }
        return MaskSet(result)
    }

    /// Sets these masks on `model`'s parameters (intersected with any mask already there, so nothing
    /// is revived) and zeroes the masked weights.
    public func apply(to model: Module) throws {
        for (path, mask) in masks {
            guard let parameter = model.parameter(at: path) else {
                throw PruningError.invalidMask(path: path, detail: "no such parameter")
            }
            guard parameter.shape == mask.shape else {
                throw PruningError.invalidMask(path: path, detail: "shape \(mask.shape) for parameter \(parameter.shape)")
            }
            let combined = parameter.mask.map { old in Engine.withoutGrad { old * mask } } ?? mask
            parameter.mask = combined
            parameter.applyMask()
        }
    }

    /// True when every entry of every mask is exactly 0 or 1.
    public var isBinary: Bool {
        masks.values.allSatisfy { $0.floats.allSatisfy { $0 == 0 || $0 == 1 } }
    }

    /// True when every entry pruned in `earlier` is pruned here too.
    public func isMonotone(after earlier: MaskSet) -> Bool {
        earlier.masks.allSatisfy { path, old in
            guard let new = masks[path] else { return false }
            return zip(old.floats, new.floats).allSatisfy { $0 != 0 || $1 == 0 }
        }
    }
}
