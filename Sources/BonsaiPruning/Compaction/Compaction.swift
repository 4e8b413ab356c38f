import Foundation

/// A physically smaller dense model, its state dict and the record that rebuilds it.
public struct CompactModel: @unchecked Sendable {
    public var model: any Model
    public var record: CompactionRecord
    /// The compact state dict (same keys as the original model, smaller shapes).
    public var tensors: [String: Tensor]
    /// Integer buffers (`num_batches_tracked`).
    public var counters: [String: Int]
}

/// Turns a channel-pruned `vgg*`, `conv*`, `lenet5`, `lenet300` or `resnet*` model into a dense
/// model with fewer channels (METHODS.md §0.2 item 6, §17 "physical compaction").
///
/// For every channel group (``ChannelDependencies``) the kept output rows of the producer's weight
/// and bias, the kept batch-norm entries (γ, β, running mean and variance) and the kept input
/// columns of every consumer (`input_block` columns per channel after a flatten) are copied into
/// new `Conv2d`/`BatchNorm`/`Linear` layers. Values are the *effective* ones (`w ⊙ m`), so the
/// compact model computes exactly what the masked model computes when the removed channels are dead
/// (``ChannelMasks/current(in:groups:)``, the default), in evaluation mode. ResNet blocks lose inner
/// channels only; block outputs keep their width, so no zero-scatter re-expansion is needed before
/// the residual additions. The compact model carries no masks; unstructured zeros inside kept
/// channels stay zero only until it is trained.
///
/// Files: ``save(_:to:)`` writes `model.safetensors` (the state dict, PyTorch keys) and
/// `compaction.json` (the ``CompactionRecord``); ``load(from:)`` or
/// ``rebuild(record:stateDict:counters:)`` builds the model again.
///
/// **Loading in PyTorch** (with `reference/models.py`; a layer record's `shape` is the new weight
/// shape, `[out, in, k, k]` or `[out, in]` or `[C]`):
///
/// ```python
/// import json, torch.nn as nn
/// from safetensors.torch import load_file
/// from models import ConvNet, LeNet5, ResNet
/// rec, sd = json.load(open("compaction.json")), load_file("model.safetensors")
/// L = {l["path"]: l for l in rec["layers"]}
/// def make(l):
///     k, s = l["kind"], l.get("shape")
///     if k == "conv2d":    return nn.Conv2d(s[1], s[0], s[2], l["stride"], l["padding"], bias=l["bias"])
///     if k == "linear":    return nn.Linear(s[1], s[0], bias=l["bias"])
///     if k == "batchnorm": return nn.BatchNorm2d(s[0], eps=l["eps"], momentum=l["momentum"])
///     if k == "relu":      return nn.ReLU()
///     if k == "maxpool":   return nn.MaxPool2d(l["kernel"], l["stride"])
///     if k == "globalavgpool": return nn.AdaptiveAvgPool2d(1)
///     if k == "flatten":   return nn.Flatten()
/// arch = rec["architecture"]
/// if arch == "sequential":        # vgg*, lenet300: the vgg()/mlp() cfg with the new widths
///     model = nn.Sequential(*[make(l) for l in rec["layers"]])
/// elif arch == "convnet":         # conv2/4/6
///     model = ConvNet(depth, channels, classes, image)
///     for part in ("features", "classifier"):
///         setattr(model, part, nn.Sequential(*[make(l) for l in rec["layers"] if l["path"].startswith(part + ".")]))
/// elif arch == "lenet5":
///     model = LeNet5(channels, classes)
///     for n in ("conv1", "conv2", "fc1", "fc2"): setattr(model, n, make(L[n]))
/// elif arch == "resnet":          # only the inner width of each block changes
///     model = ResNet(depth, channels, classes, width)
///     for stage in ("layer1", "layer2", "layer3"):
///         for b, block in enumerate(getattr(model, stage)):
///             p = f"{stage}.{b}."
///             block.conv1, block.bn1, block.conv2 = make(L[p + "conv1"]), make(L[p + "bn1"]), make(L[p + "conv2"])
/// model.load_state_dict(sd); model.eval()
/// ```
public enum Compaction {
    /// Compacts `model` to the channels kept in `channels` (default: the channels the masks have
    /// already removed). Channels pruned in `channels` but alive in the model are dropped too.
    public static func compact(_ model: any Model, channels: ChannelMaskSet? = nil) throws -> CompactModel {
        let groups = try ChannelDependencies.groups(of: model)
        let channels = channels ?? ChannelMasks.current(in: model, groups: groups)
        let (architecture, leaves) = try layout(of: model)
        var records: [LayerRecord] = []
        var tensors: [String: Tensor] = [:], counters: [String: Int] = [:]
        for (path, module) in leaves {
            var record = try LayerRecord.describe(module, path: path)
            for group in groups {
                guard let mask = channels[group.name], mask.kept.count < group.channels else { continue }
                if group.producer == path || group.norm == path { record.keptOutputs = mask.kept }
                if let consumer = group.consumers.first(where: { $0.path == path }) {
                    record.keptInputs = mask.kept
                    record.inputBlock = consumer.block
                }
            }
            if let shape = record.shape {
                record.originalShape = shape
                var newShape = shape
                if let out = record.keptOutputs { newShape[0] = out.count }
                if let inputs = record.keptInputs { newShape[1] = inputs.count * (record.inputBlock ?? 1) }
                record.shape = newShape
            }
            try slice(module, record: record, into: &tensors, counters: &counters)
            records.append(record)
        }
        let ordered = groups.compactMap { channels[$0.name] ?? ChannelMask.dense($0) }
        let record = CompactionRecord(architecture: architecture, layers: records, channels: ordered)
        let compactModel = try rebuild(record: record, stateDict: tensors, counters: counters)
        return CompactModel(model: compactModel, record: record, tensors: tensors, counters: counters)
    }

    /// Copies the kept rows/columns of `module`'s parameters and buffers (effective values).
    static func slice(_ module: Module, record: LayerRecord, into tensors: inout [String: Tensor], counters: inout [String: Int]) throws {
        let columns: [Int]? = record.keptInputs.map { kept in
            let block = record.inputBlock ?? 1
            return kept.flatMap { j in (j * block) ..< ((j + 1) * block) }
        }
        func cut(_ t: Tensor, rowsAxis: Bool = true) -> Tensor {
            var t = t.detached()
            if let out = record.keptOutputs { t = t.indexSelect(axis: 0, indices: out) }
            if rowsAxis, t.rank >= 2, let columns { t = t.indexSelect(axis: 1, indices: columns) }
            return t
        }
        Engine.withoutGrad {
            for (name, parameter) in module.localParameters {
                tensors[record.path + "." + name] = cut(parameter.effective)
            }
            for (name, buffer) in module.localBuffers {
                switch buffer.value {
                case let .tensor(t): tensors[record.path + "." + name] = cut(t)
                case let .count(n): counters[record.path + "." + name] = n
                }
            }
        }
    }

    /// The architecture family and the layers in forward order, with their paths.
    static func layout(of model: Module) throws -> (String, [(String, Module)]) {
        func sequence(_ s: Sequential, _ prefix: String) -> [(String, Module)] {
            s.layers.enumerated().map { (prefix + String($0.offset), $0.element as Module) }
        }
        switch model {
        case let s as Sequential: return ("sequential", sequence(s, ""))
        case let c as ConvNet: return ("convnet", sequence(c.features, "features.") + sequence(c.classifier, "classifier."))
        case let c as ConvNet: return ("convnet", sequence(c.features, "features.") + sequence(c.classifier, "classifier."))
        case let l as LeNet5: return ("lenet5", [("conv1", l.conv1), ("conv2", l.conv2), ("fc1", l.fc1), ("fc2", l.fc2)])
        case let l as LeNet5: return ("lenet5", [("conv1", l.conv1), ("conv2", l.conv2), ("fc1", l.fc1), ("fc2", l.fc2)])
        case is ResNet:
            var leaves: [(String, Module)] = []
            for (path, module) in model.namedModules() where !path.isEmpty {
                if module is Conv2d || module is BatchNorm || module is Linear { leaves.append((path, module)) }
            }
            return ("resnet", leaves)
        default:
            throw PruningError.unsupportedModel(method: "compaction", detail: "no compaction for \(type(of: model))")
        }
    }
}
