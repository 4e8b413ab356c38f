/// Errors the engine throws for anything a caller's data can trigger (a file, a request, a config).
/// Each case carries the context needed to find the culprit: the operation, the shapes, the name.
///
/// Shape mismatches *inside* an op called by Bonsai's own code are contract violations and stop the
/// process with a `precondition` naming the op and shapes; user data is validated (and these errors
/// thrown) before it ever reaches an op.
public enum TensorError: Error, Equatable, CustomStringConvertible, Sendable {
    case shapeMismatch(op: String, shapes: [[Int]], detail: String)
    case invalidArgument(op: String, detail: String)
    case countMismatch(expected: Int, got: Int, detail: String)
    case dtypeMismatch(op: String, expected: DType, got: DType)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, shapes, detail):
            return "\(op): incompatible shapes \(shapes.map { "\($0)" }.joined(separator: ", ")): \(detail)"
        case let .invalidArgument(op, detail):
            return "\(op): \(detail)"
        case let .countMismatch(expected, got, detail):
            return "\(detail): expected \(expected) elements, got \(got)"
        case let .dtypeMismatch(op, expected, got):
            return "\(op): expected dtype \(expected), got \(got)"
        }
    }
}
