import Foundation
import Testing
import BonsaiPruning

/// Masked model, compacted model and compacted model saved + reloaded compute the same outputs
/// (eval mode, max abs difference ≤ 1e-4) on every supported architecture.
@Suite struct CompactionTests {
    struct Architecture: Sendable, CustomStringConvertible {
        var name: String
        var input: InputKind
        var options: ArchitectureOptions
        var description: String { name }
    }

    static let architectures: [Architecture] = [
        Architecture(name: "vgg11", input: .image(channels: 3, height: 16, width: 16), options: ArchitectureOptions(width: 0.25)),
        Architecture(name: "conv4", input: .image(channels: 3, height: 8, width: 8), options: ArchitectureOptions()),
        Architecture(name: "lenet5", input: .image(channels: 1, height: 28, width: 28), options: ArchitectureOptions()),
        Architecture(name: "lenet300", input: .image(channels: 1, height: 8, width: 8), options: ArchitectureOptions()),
        Architecture(name: "resnet20", input: .image(channels: 3, height: 8, width: 8), options: ArchitectureOptions(width: 4)),
    ]

    /// A model with non-trivial batch-norm state (random γ, β, running mean and variance), so
    /// evaluation mode exercises every slice.
    static func model(_ arch: Architecture, seed: UInt64 = 7) throws -> any Model {
        var rng = RandomGenerator(seed: seed)
        let model = try ModelZoo.make(arch.name, input: arch.input, classes: 10, options: arch.options, rng: &rng)
        for (_, module) in model.namedModules() {
            guard let bn = module as? BatchNorm else { continue }
            let c = bn.channels
            bn.weight.assign(.uniform([c], low: 0.5, high: 1.5, using: &rng))
            bn.bias.assign(.normal([c], std: 0.2, using: &rng))
            bn.runningMean.value = .tensor(.normal([c], std: 0.2, using: &rng))
            bn.runningVar.value = .tensor(.uniform([c], low: 0.5, high: 2, using: &rng))
        }
        return model
    }

    static func batch(_ arch: Architecture, seed: UInt64 = 11) -> Tensor {
        guard case let .image(c, h, w) = arch.input else { preconditionFailure("image architectures only") }
        var rng = RandomGenerator(seed: seed)
        return .normal([5, c, h, w], using: &rng)
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "shapes \(a.shape) and \(b.shape)")
        return zip(a.floats, b.floats).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
    }

    @Test(arguments: architectures)
    func maskedCompactedAndReloadedAgree(_ arch: Architecture) throws {
        let model = try Self.model(arch)
        let groups = try ChannelDependencies.groups(of: model)
        // Remove about half of every group's channels by filter L1 norm (at least one kept).
        let channels = ChannelSelection.select(ChannelScores.filterL1(model, groups: groups), groups: groups, ratio: 0.5, scope: .layerwise)
        try ChannelMasks.elementMasks(channels, groups: groups, model: model).apply(to: model)
        #expect(ChannelMasks.current(in: model, groups: groups) == channels, "\(arch): the masks do not remove exactly the chosen channels")

        let x = Self.batch(arch)
        let masked = Engine.withoutGrad { model.forward(.dense(x), context: .evaluation) }
        let compact = try Compaction.compact(model)
        let compacted = Engine.withoutGrad { compact.model.forward(.dense(x), context: .evaluation) }
        let d1 = Self.maxDifference(masked, compacted)
        #expect(d1 <= 1e-4, "\(arch): masked vs compacted differ by \(d1)")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bonsai-compaction-\(arch.name)-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Compaction.save(compact, to: directory)
        let reloaded = try Compaction.load(from: directory)
        let d2 = Self.maxDifference(masked, Engine.withoutGrad { reloaded.forward(.dense(x), context: .evaluation) })
        #expect(d2 <= 1e-4, "\(arch): masked vs reloaded differ by \(d2)")

        // The compact model is physically smaller, with exactly the kept widths.
        #expect(compact.model.parameterCount < model.parameterCount)
        for group in groups {
            let kept = channels[group.name]!.kept.count
            #expect(compact.model.parameter(at: group.producer + ".weight")?.shape[0] == kept, "\(arch): \(group.name) width")
            if let norm = group.norm { #expect(compact.model.parameter(at: norm + ".weight")?.shape == [kept]) }
            for consumer in group.consumers {
                #expect(compact.model.parameter(at: consumer.path + ".weight")?.shape[1] == kept * consumer.block,
                        "\(arch): \(consumer.path) inputs")
            }
            let record = compact.record.layer(group.producer)
            #expect(record?.keptOutputs == channels[group.name]!.kept)
        }
        // The record survives JSON and rebuilds the same model from the state dict.
        let json = try JSONEncoder().encode(compact.record)
        let record = try JSONDecoder().decode(CompactionRecord.self, from: json)
        #expect(record == compact.record)
        let rebuilt = try Compaction.rebuild(record: record, stateDict: compact.tensors, counters: compact.counters)
        #expect(Self.maxDifference(compacted, Engine.withoutGrad { rebuilt.forward(.dense(x), context: .evaluation) }) == 0)
        // A compacted model can be analysed (and compacted) again.
        #expect(try ChannelDependencies.groups(of: compact.model).count == groups.count)
    }

    @Test func undamagedModelCompactsToItself() throws {
        let arch = Self.architectures[0]
        let model = try Self.model(arch)
        let compact = try Compaction.compact(model)
        #expect(compact.model.parameterCount == model.parameterCount)
        let x = Self.batch(arch)
        let d = Self.maxDifference(Engine.withoutGrad { model.forward(.dense(x), context: .evaluation) },
                                   Engine.withoutGrad { compact.model.forward(.dense(x), context: .evaluation) })
        #expect(d == 0)
    }

    @Test func rebuildRejectsAStateDictThatDoesNotFit() throws {
        let arch = Self.architectures[3]
        let model = try Self.model(arch)
        let groups = try ChannelDependencies.groups(of: model)
        let channels = ChannelSelection.select(ChannelScores.filterL1(model, groups: groups), groups: groups, ratio: 0.5, scope: .layerwise)
        let compact = try Compaction.compact(model, channels: channels)
        var tensors = compact.tensors
        tensors["1.weight"] = .zeros([3, 3])
        #expect(throws: StateDictError.self) { try Compaction.rebuild(record: compact.record, stateDict: tensors) }
        var record = compact.record
        record.architecture = "transformer"
        #expect(throws: PruningError.self) { try Compaction.rebuild(record: record, stateDict: compact.tensors) }
    }
}
