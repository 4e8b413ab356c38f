/// Parameters that share a learning rate and weight decay (PyTorch's `param_groups`). Score tensors
/// of pruning methods (HYDRA, edge-popup, movement) get a group of their own.
public struct ParameterGroup: @unchecked Sendable {
    public var parameters: [(path: String, parameter: Parameter)]
    public var learningRate: Double
    public var weightDecay: Double

    public init(parameters: [(path: String, parameter: Parameter)], learningRate: Double, weightDecay: Double = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }
}

extension ParameterGroup {
    /// Every group's rate must be a finite number ≥ 0 and its weight decay ≥ 0.
    static func validate(_ groups: [ParameterGroup]) throws {
        for group in groups {
            guard group.learningRate >= 0, group.learningRate.isFinite else {
                throw OptimizerError.invalidSetting(field: "lr", detail: "must be a finite number ≥ 0, got \(group.learningRate)")
            }
            guard group.weightDecay >= 0 else { throw OptimizerError.invalidSetting(field: "weight_decay", detail: "must be ≥ 0") }
        }
    }
}

/// An optimizer's saved state: per-parameter state tensors keyed `"<path>/<slot>"`, plus its step count.
public struct OptimizerState: @unchecked Sendable {
    public var step: Int
    public var tensors: [String: Tensor]

    public init(step: Int, tensors: [String: Tensor]) {
        self.step = step
        self.tensors = tensors
    }
}

public enum OptimizerError: Error, CustomStringConvertible, Equatable {
    case invalidSetting(field: String, detail: String)
    case stateMismatch(detail: String)

    public var description: String {
        switch self {
        case let .invalidSetting(field, detail): return "optimizer: \(field): \(detail)"
        case let .stateMismatch(detail): return "optimizer state: \(detail)"
        }
    }
}

/// A first-order optimizer over parameter groups.
///
/// Every optimizer respects pruning masks (METHODS.md §0.1): after each step a masked parameter is
/// reset to `w ⊙ m` and every state slot (momentum, Adam moments) is multiplied by `m`, so neither
/// momentum nor weight decay can revive a pruned weight.
public protocol Optimizer: AnyObject {
    var groups: [ParameterGroup] { get set }
    /// Multiplies every group's learning rate (set by a learning-rate schedule).
    var learningRateFactor: Double { get set }
    /// Steps taken so far.
    var stepCount: Int { get }
    /// Applies one update from the parameters' accumulated gradients.
    func step()
    func state() -> OptimizerState
    func load(_ state: OptimizerState) throws
}

extension Optimizer {
    /// Clears every parameter's gradient.
    public func zeroGrad() {
        for group in groups { for entry in group.parameters { entry.parameter.zeroGrad() } }
    }

    /// Calls `body` for every trainable parameter that has a gradient, with the group's settings.
    func forEachParameter(_ body: (String, Parameter, Tensor, ParameterGroup) -> Void) {
        for group in groups {
            for (path, parameter) in group.parameters where parameter.trainable {
                guard let grad = parameter.grad else { continue }
                body(path, parameter, grad, group)
            }
        }
    }
}

/// Per-parameter state slots by `"<path>/<slot>"`, saved and restored with checks.
struct SlotStore {
    var slots: [String: Tensor] = [:]

    mutating func slot(_ path: String, _ name: String, like value: Tensor) -> Tensor {
        slots["\(path)/\(name)"] ?? .zeros(value.shape, dtype: value.dtype)
    }

    mutating func set(_ path: String, _ name: String, _ tensor: Tensor) { slots["\(path)/\(name)"] = tensor }

    /// Restores slots, checking that each belongs to a known parameter with the right shape.
    static func restore(_ tensors: [String: Tensor], groups: [ParameterGroup], slotNames: Set<String>) throws -> [String: Tensor] {
        var shapes: [String: [Int]] = [:]
        for group in groups { for (path, p) in group.parameters { shapes[path] = p.shape } }
        for (key, tensor) in tensors {
            guard let slash = key.lastIndex(of: "/") else { throw OptimizerError.stateMismatch(detail: "bad key '\(key)'") }
            let path = String(key[..<slash]), slot = String(key[key.index(after: slash)...])
            guard slotNames.contains(slot) else { throw OptimizerError.stateMismatch(detail: "unknown slot '\(slot)' in '\(key)'") }
            guard let shape = shapes[path] else { throw OptimizerError.stateMismatch(detail: "no parameter '\(path)'") }
            guard shape == tensor.shape else {
                throw OptimizerError.stateMismatch(detail: "'\(key)' has shape \(tensor.shape), parameter has \(shape)")
            }
        }
        return tensors
    }
}

extension Parameter {
    /// The mask in the value's dtype, when set.
    var maskForUpdate: Tensor? { mask?.detached().cast(to: value.dtype) }
}

/// Calls `body` with the scalars of `tensor`, or with nil when there is no tensor.
@inline(__always)
func withOptionalScalars<T: TensorScalar, R>(_ tensor: Tensor?, _: T.Type, _ body: (UnsafeBufferPointer<T>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.withScalars(T.self) { body($0) }
}
