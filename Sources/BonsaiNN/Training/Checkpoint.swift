import Foundation

/// Everything needed to continue a training run exactly where it stopped: parameters and buffers,
/// pruning masks, optimizer state, the dropout random stream and the data position.
///
/// Stored as one safetensors file: `model.<path>` (parameters and float buffers), `mask.<path>`,
/// `optim.<path>/<slot>`, counters as I64, and a JSON `checkpoint` metadata entry with the position,
/// the random-generator state and the optimizer's step count. Written atomically (temp + rename).
public struct Checkpoint: @unchecked Sendable {
    public var position: TrainingPosition
    public var rngState: [UInt64]
    public var optimizer: OptimizerState
    public var model: [String: Tensor]
    public var counters: [String: Int]
    public var masks: [String: Tensor]
    /// Free-form extra state of the caller (phase name, method state …).
    public var extra: [String: String]
    /// Extra tensors of the caller (e.g. a lottery ticket's initial weights).
    public var attachments: [String: Tensor] = [:]

    struct Header: Codable {
        var position: TrainingPosition
        var rngState: [UInt64]
        var optimizerStep: Int
        var extra: [String: String]
    }

    /// Captures the current state.
    public static func capture(model: Module, optimizer: any Optimizer, position: TrainingPosition,
                               rng: RandomGenerator, extra: [String: String] = [:]) -> Checkpoint {
        var tensors: [String: Tensor] = [:], counters: [String: Int] = [:], masks: [String: Tensor] = [:]
        for (key, value) in model.stateDict() {
            switch value {
            case let .tensor(t): tensors[key] = t
            case let .int64(values, _): counters[key] = values.first ?? 0
            default: break
            }
        }
        for (path, parameter) in model.namedParameters() { if let mask = parameter.mask { masks[path] = mask } }
        return Checkpoint(position: position, rngState: rng.state, optimizer: optimizer.state(), model: tensors,
                          counters: counters, masks: masks, extra: extra)
    }

    /// Restores the model (parameters, buffers, masks) and optimizer; returns the random generator.
    public func restore(into model: Module, optimizer: any Optimizer) throws -> RandomGenerator {
        try model.loadStateDict(self.model, counters: counters)
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.path, $0.parameter) })
        for parameter in parameters.values { parameter.mask = nil }
        for (path, mask) in masks {
            guard let parameter = parameters[path], parameter.shape == mask.shape else {
                throw StateDictError.wrongKind(key: "mask.\(path)", detail: "no parameter of that shape")
            }
            parameter.mask = mask
        }
        try optimizer.load(self.optimizer)
        return try RandomGenerator(state: rngState)
    }

    public func write(to path: String) throws {
        var values: [String: SafetensorsValue] = [:]
        for (k, t) in model { values["model.\(k)"] = .tensor(t) }
        for (k, n) in counters { values["count.\(k)"] = .int64([n], shape: []) }
        for (k, t) in masks { values["mask.\(k)"] = .tensor(t) }
        for (k, t) in optimizer.tensors { values["optim.\(k)"] = .tensor(t) }
        for (k, t) in attachments { values["attach.\(k)"] = .tensor(t) }
        let header = Header(position: position, rngState: rngState, optimizerStep: optimizer.step, extra: extra)
        let json = String(decoding: try JSONEncoder().encode(header), as: UTF8.self)
        try SafetensorsWriter.write(values, metadata: ["checkpoint": json, "format": "bonsai-checkpoint-1"], to: path)
    }

    public static func read(from path: String) throws -> Checkpoint {
        let file = try SafetensorsFile(path: path)
        guard let json = file.metadata["checkpoint"], let data = json.data(using: .utf8),
              let header = try? JSONDecoder().decode(Header.self, from: data) else {
            throw SafetensorsError.badHeader(path: path, detail: "not a Bonsai checkpoint (no valid 'checkpoint' metadata)")
        }
        var model: [String: Tensor] = [:], counters: [String: Int] = [:], masks: [String: Tensor] = [:], optim: [String: Tensor] = [:]
        var attachments: [String: Tensor] = [:]
        for entry in file.entries {
            let name = entry.name
            if name.hasPrefix("model.") { model[String(name.dropFirst(6))] = try file.tensor(name) }
            else if name.hasPrefix("mask.") { masks[String(name.dropFirst(5))] = try file.tensor(name) }
            else if name.hasPrefix("optim.") { optim[String(name.dropFirst(6))] = try file.tensor(name) }
            else if name.hasPrefix("count.") { counters[String(name.dropFirst(6))] = try file.integers(name).first ?? 0 }
            else if name.hasPrefix("attach.") { attachments[String(name.dropFirst(7))] = try file.tensor(name) }
        }
        return Checkpoint(position: header.position, rngState: header.rngState,
                          optimizer: OptimizerState(step: header.optimizerStep, tensors: optim),
                          model: model, counters: counters, masks: masks, extra: header.extra, attachments: attachments)
    }
}
