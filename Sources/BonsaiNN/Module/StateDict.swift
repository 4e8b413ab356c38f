/// Why a state dict could not be loaded into a module.
public enum StateDictError: Error, Equatable, CustomStringConvertible, Sendable {
    case missingKeys([String])
    case unexpectedKeys([String])
    case shapeMismatch(key: String, expected: [Int], got: [Int])
    case wrongKind(key: String, detail: String)

    public var description: String {
        switch self {
        case let .missingKeys(keys): return "state dict is missing \(keys.count) key(s): \(keys.prefix(8).joined(separator: ", "))"
        case let .unexpectedKeys(keys): return "state dict has \(keys.count) unexpected key(s): \(keys.prefix(8).joined(separator: ", "))"
        case let .shapeMismatch(key, expected, got): return "state dict key '\(key)': expected shape \(expected), got \(got)"
        case let .wrongKind(key, detail): return "state dict key '\(key)': \(detail)"
        }
    }
}

extension Module {
    /// The state dict as PyTorch's `state_dict()` would have it: every parameter and buffer by path,
    /// in registration order. With `applyingMasks`, masked parameters are stored as `w ⊙ m` (what a
    /// user downloads: the pruned weights, loadable with `load_state_dict` as they are).
    public func stateDict(applyingMasks: Bool = false) -> [(key: String, value: SafetensorsValue)] {
        var result: [(String, SafetensorsValue)] = []
        for (path, parameter) in namedParameters() {
            let value = applyingMasks && parameter.mask != nil ? Engine.withoutGrad { parameter.effective } : parameter.value
            result.append((path, .tensor(value.detached())))
        }
        for (path, buffer) in namedBuffers() {
            switch buffer.value {
            case let .tensor(t): result.append((path, .tensor(t.detached())))
            case let .count(n): result.append((path, .int64([n], shape: [])))
            }
        }
        return result
    }

    /// Writes the state dict as safetensors (float32 tensors, I64 counters) with `metadata`.
    public func saveStateDict(to path: String, applyingMasks: Bool = false, metadata: [String: String] = [:]) throws {
        try SafetensorsWriter.write(Dictionary(uniqueKeysWithValues: stateDict(applyingMasks: applyingMasks)),
                                    metadata: metadata, to: path)
    }

    /// Loads tensors by key into the parameters and buffers, checking names and shapes exactly
    /// (PyTorch's `strict=True`). Float values are converted to each parameter's dtype; counters
    /// may be given as float or integer tensors. Nothing is changed unless everything matches.
    public func loadStateDict(_ values: [String: Tensor], counters: [String: Int] = [:]) throws {
        let parameters = namedParameters(), buffers = namedBuffers()
        let known = Set(parameters.map(\.path) + buffers.map(\.path))
        let given = Set(values.keys).union(counters.keys)
        let missing = known.subtracting(given).sorted()
        guard missing.isEmpty else { throw StateDictError.missingKeys(missing) }
        let unexpected = given.subtracting(known).sorted()
        guard unexpected.isEmpty else { throw StateDictError.unexpectedKeys(unexpected) }
        for (path, parameter) in parameters {
            guard let value = values[path] else { throw StateDictError.wrongKind(key: path, detail: "expected a float tensor") }
            guard value.shape == parameter.shape else {
                throw StateDictError.shapeMismatch(key: path, expected: parameter.shape, got: value.shape)
            }
        }
        for (path, buffer) in buffers {
            if case let .tensor(t) = buffer.value {
                guard let value = values[path] else { throw StateDictError.wrongKind(key: path, detail: "expected a float tensor") }
                guard value.shape == t.shape else { throw StateDictError.shapeMismatch(key: path, expected: t.shape, got: value.shape) }
            } else if counters[path] == nil, let value = values[path], value.count != 1 {
                throw StateDictError.shapeMismatch(key: path, expected: [], got: value.shape)
            }
        }
        for (path, parameter) in parameters { parameter.assign(values[path]!) }
        for (path, buffer) in buffers {
            switch buffer.value {
            case let .tensor(t): buffer.value = .tensor(values[path]!.detached().cast(to: t.dtype))
            case .count: buffer.value = .count(counters[path] ?? Int(values[path]!.item))
            }
        }
    }

    /// Loads a safetensors state dict (as written by PyTorch's `save_file(model.state_dict())` or
    /// by ``saveStateDict(to:applyingMasks:metadata:)``).
    public func loadStateDict(from path: String) throws {
        let file = try SafetensorsFile(path: path)
        var tensors: [String: Tensor] = [:], counters: [String: Int] = [:]
        for entry in file.entries {
            if entry.dtype.tensorDType != nil {
                tensors[entry.name] = try file.tensor(entry.name)
            } else {
                let ints = try file.integers(entry.name)
                guard ints.count == 1 else {
                    throw StateDictError.wrongKind(key: entry.name, detail: "integer entries must be scalar counters")
                }
                counters[entry.name] = ints[0]
            }
        }
        try loadStateDict(tensors, counters: counters)
    }

    /// A detached copy of every parameter and buffer, counters included (`num_batches_tracked`),
    /// to start another model of the same architecture from these weights with
    /// ``loadStateDict(_:)-(ModuleState)``.
    public func captureState() -> ModuleState {
        var state = ModuleState()
        for (key, value) in stateDict() {
            switch value {
            case let .tensor(t): state.tensors[key] = t
            case let .int64(values, _) where values.count == 1: state.counters[key] = values[0]
            default: preconditionFailure("Module.captureState: \(key) is neither a float tensor nor a scalar counter")
            }
        }
        return state
    }

    /// Loads a captured state (strict: names and shapes must match exactly).
    public func loadStateDict(_ state: ModuleState) throws {
        try loadStateDict(state.tensors, counters: state.counters)
    }
}

/// Every parameter and buffer of a module by path: float tensors and integer counters.
public struct ModuleState: Sendable {
    public var tensors: [String: Tensor] = [:]
    public var counters: [String: Int] = [:]
    public init() {}
}
