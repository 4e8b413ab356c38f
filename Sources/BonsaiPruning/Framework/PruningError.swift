@_exported import BonsaiNN

/// Errors of pruning configs and pipelines. `invalidSetting` names the offending field so the server
/// can point at it in a problem+json response.
public enum PruningError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidSetting(field: String, detail: String)
    case unknownMethod(String)
    case unsupportedModel(method: String, detail: String)
    case invalidMask(path: String, detail: String)

    public var description: String {
        switch self {
        case let .invalidSetting(field, detail): return "\(field): \(detail)"
        case let .unknownMethod(name):
            return "unknown pruning method '\(name)' (known: \(PruningRegistry.ids.joined(separator: ", ")))"
        case let .unsupportedModel(method, detail): return "\(method): \(detail)"
        case let .invalidMask(path, detail): return "mask of '\(path)': \(detail)"
        }
    }

    /// The field an error is about, when it is about one.
    public var field: String? {
        if case let .invalidSetting(field, _) = self { return field }
        return nil
    }
}

/// Validation helpers for configs: each throws ``PruningError/invalidSetting(field:detail:)``.
public enum Check {
    public static func fraction(_ value: Double?, _ field: String, open: Bool = false) throws {
        guard let value else { return }
        let ok = value.isFinite && (open ? value > 0 && value < 1 : value >= 0 && value <= 1)
        guard ok else { throw PruningError.invalidSetting(field: field, detail: "must be in \(open ? "(0, 1)" : "[0, 1]"), got \(value)") }
    }

    public static func range<T: Comparable>(_ value: T?, _ field: String, _ range: ClosedRange<T>) throws {
        guard let value else { return }
        guard range.contains(value) else {
            throw PruningError.invalidSetting(field: field, detail: "must be in \(range.lowerBound)…\(range.upperBound), got \(value)")
        }
    }

    public static func positive(_ value: Double?, _ field: String) throws {
        guard let value else { return }
        guard value.isFinite, value > 0 else { throw PruningError.invalidSetting(field: field, detail: "must be a positive number, got \(value)") }
    }

    public static func oneOf(_ value: String?, _ field: String, _ allowed: [String]) throws {
        guard let value else { return }
        guard allowed.contains(value) else {
            throw PruningError.invalidSetting(field: field, detail: "must be one of \(allowed.joined(separator: ", ")), got '\(value)'")
        }
    }
}
