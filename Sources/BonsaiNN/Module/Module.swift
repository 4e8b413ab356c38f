/// The base of every layer and model: a tree of named children, parameters and buffers whose dotted
/// paths are exactly PyTorch's state-dict keys (`features.0.weight`, `layer1.0.bn1.running_mean`).
///
/// Registration is explicit (`register(child:…)`, `register(parameter:…)`) and happens in the
/// initialiser in PyTorch's definition order, so iteration order matches `state_dict()` too. No
/// reflection: the tree is plain data that pruning methods, optimizers and serialisers walk.
open class Module {
    public private(set) var children: [(name: String, module: Module)] = []
    public private(set) var localParameters: [(name: String, parameter: Parameter)] = []
    public private(set) var localBuffers: [(name: String, buffer: Buffer)] = []

    public init() {}

    @discardableResult
    public func register<M: Module>(child name: String, _ module: M) -> M {
        precondition(!children.contains { $0.name == name }, "Module: duplicate child '\(name)'")
        children.append((name, module))
        return module
    }

    @discardableResult
    public func register(parameter name: String, _ parameter: Parameter) -> Parameter {
        precondition(!localParameters.contains { $0.name == name }, "Module: duplicate parameter '\(name)'")
        localParameters.append((name, parameter))
        return parameter
    }

    @discardableResult
    public func register(buffer name: String, _ buffer: Buffer) -> Buffer {
        localBuffers.append((name, buffer))
        return buffer
    }

    /// Every parameter with its dotted path, depth-first in registration order.
    public func namedParameters(prefix: String = "") -> [(path: String, parameter: Parameter)] {
        var result = localParameters.map { (prefix + $0.name, $0.parameter) }
        for (name, child) in children {
            result += child.namedParameters(prefix: prefix + name + ".")
        }
        return result
    }

    /// Every buffer with its dotted path.
    public func namedBuffers(prefix: String = "") -> [(path: String, buffer: Buffer)] {
        var result = localBuffers.map { (prefix + $0.name, $0.buffer) }
        for (name, child) in children {
            result += child.namedBuffers(prefix: prefix + name + ".")
        }
        return result
    }

    /// Every module below and including this one, with its path ("" for self).
    public func namedModules(prefix: String = "") -> [(path: String, module: Module)] {
        var result: [(String, Module)] = [(prefix.isEmpty ? "" : String(prefix.dropLast()), self)]
        for (name, child) in children {
            result += child.namedModules(prefix: prefix + name + ".")
        }
        return result
    }

    public var parameters: [Parameter] { namedParameters().map(\.parameter) }

    /// The parameter at a dotted path.
    public func parameter(at path: String) -> Parameter? {
        namedParameters().first { $0.path == path }?.parameter
    }

    /// The module at a dotted path ("" is self).
    public func module(at path: String) -> Module? {
        namedModules().first { $0.path == path }?.module
    }

    /// Total number of parameter scalars.
    public var parameterCount: Int { parameters.map { $0.value.count }.reduce(0, +) }

    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }
}

/// Everything a forward pass needs besides its input: train/eval mode and the random stream for
/// dropout. A class, so layers deep in the tree draw from one generator in a fixed order.
public final class ForwardContext: @unchecked Sendable {
    public var training: Bool
    public var rng: RandomGenerator

    public init(training: Bool, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        self.training = training
        self.rng = rng
    }

    public static var evaluation: ForwardContext { ForwardContext(training: false) }
}

/// A module mapping one tensor to one tensor (most layers).
public protocol UnaryLayer: Module {
    func forward(_ x: Tensor, context: ForwardContext) -> Tensor
}
