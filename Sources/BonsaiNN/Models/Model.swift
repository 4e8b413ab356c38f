/// A batch of token sequences: `ids` and `mask` (1 = real token, 0 = padding) laid out `[batch, length]`.
public struct TokenBatch: Sendable, Equatable {
    public var ids: [Int]
    public var mask: [Int]
    public var batch: Int
    public var length: Int

    public init(ids: [Int], mask: [Int], batch: Int, length: Int) {
        precondition(ids.count == batch * length && mask.count == ids.count,
                     "TokenBatch: \(ids.count) ids and \(mask.count) mask entries for [\(batch), \(length)]")
        self.ids = ids; self.mask = mask; self.batch = batch; self.length = length
    }
}

/// What a model consumes: an image (or feature) tensor, or token sequences.
public enum ModelInput: Sendable {
    case dense(Tensor)
    case tokens(TokenBatch)

    public var batchSize: Int {
        switch self {
        case let .dense(t): return t.shape.first ?? 0
        case let .tokens(b): return b.batch
        }
    }
}

/// A classifier of the zoo: maps an input batch to logits `[batch, classes]`.
public protocol Model: Module {
    func forward(_ input: ModelInput, context: ForwardContext) -> Tensor
}

/// Image classifiers take dense input only; handing them tokens is a contract violation that the
/// job validator rules out before training starts (architecture and data set kinds must agree).
extension UnaryLayer {
    func forwardDense(_ input: ModelInput, context: ForwardContext) -> Tensor {
        guard case let .dense(x) = input else {
            preconditionFailure("\(type(of: self)): expects a dense (image or feature) input, got tokens")
        }
        return forward(x, context: context)
    }
}

extension Sequential: Model {
    public func forward(_ input: ModelInput, context: ForwardContext) -> Tensor { forwardDense(input, context: context) }
}
