/// Which parameters a method may prune (METHODS.md §0.1): by default every conv and linear weight;
/// optionally without the final classifier (open_lth's default for VGG and LeNet), with biases, or
/// an explicit list of paths.
public struct PrunableSet: Codable, Sendable, Equatable {
    /// Explicit parameter paths; when set, only these.
    public var paths: [String]?
    /// Leave the last linear layer dense.
    public var excludeClassifier: Bool?
    /// Paths never pruned (applied after the rest).
    public var exclude: [String]?

    enum CodingKeys: String, CodingKey {
        case paths, exclude
        case excludeClassifier = "exclude_classifier"
    }

    public init(paths: [String]? = nil, excludeClassifier: Bool? = nil, exclude: [String]? = nil) {
        self.paths = paths
        self.excludeClassifier = excludeClassifier
        self.exclude = exclude
    }

    /// The prunable parameter paths of `model`, in registration order.
    public func resolve(in model: Module) throws -> [String] {
        let all = model.namedParameters()
        var result: [String]
        if let paths {
            let known = Set(all.map(\.path))
            for path in paths where !known.contains(path) {
                throw PruningError.invalidSetting(field: "prunable.paths", detail: "no parameter '\(path)' in this model")
            }
            result = all.map(\.path).filter { paths.contains($0) }
        } else {
            result = all.filter { $0.parameter.role.isPrunableByDefault && $0.parameter.trainable }.map(\.path)
            if excludeClassifier == true, let last = all.last(where: { $0.parameter.role == .linearWeight }) {
                result.removeAll { $0 == last.path }
            }
        }
        if let exclude { result.removeAll { exclude.contains($0) } }
        guard !result.isEmpty else { throw PruningError.invalidSetting(field: "prunable", detail: "selects no parameter") }
        return result
    }
}
