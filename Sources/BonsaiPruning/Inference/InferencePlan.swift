/// The zoo's inference forward passes as a small program of primitive steps, so analysis passes
/// (FLOPs accounting) and alternative executors (the sparse inference form, later a compacted form)
/// can walk a model without re-deriving its forward code.
///
/// Every step carries the module it reads its weights from, so a plan always sees the model's
/// current (masked) parameters. Only the zoo's structures are known: `Sequential` (of the layers
/// below), `ConvNet`, `LeNet5`, `ResNet`/`BasicBlock`; `TinyBert` is described by its own case
/// (its attention runs as one fused op). Anything else has no plan (``make(_:)`` returns nil) and
/// analysis falls back to what it can do without one.
public indirect enum InferenceStep {
    case linear(path: String, layer: Linear)
    case conv(path: String, layer: Conv2d)
    case batchNorm(BatchNorm)
    case relu
    case maxPool(kernel: Int, stride: Int)
    /// `GlobalAvgPool` keeps `[N, C, 1, 1]`; ResNet's head flattens to `[N, C]`.
    case globalAvgPool(keepSpatial: Bool)
    case flatten
    /// `relu(body(x) + shortcut(x))` (an empty shortcut is the identity).
    case residual(body: [InferenceStep], shortcut: [InferenceStep])
}

public enum InferencePlan {
    /// A BERT-style encoder (`TinyBert`), executed by the model itself.
    case transformer(TinyBert)
    case steps([InferenceStep])

    /// The plan of a zoo model, or nil for an unknown structure.
    public static func make(_ model: Module) -> InferencePlan? {
        if let bert = model as? TinyBert { return .transformer(bert) }
        return steps(model, path: "").map { .steps($0) }
    }

    /// The steps of `module` at `path` (nil when some part is not understood).
    static func steps(_ module: Module, path: String) -> [InferenceStep]? {
        func child(_ name: String) -> String { path.isEmpty ? name : path + "." + name }
        switch module {
        case let m as Linear: return [.linear(path: child("weight"), layer: m)]
        case let m as Conv2d: return [.conv(path: child("weight"), layer: m)]
        case let m as BatchNorm: return [.batchNorm(m)]
        case is ReLU: return [.relu]
        case let m as MaxPool2d: return [.maxPool(kernel: m.kernel, stride: m.stride)]
        case is GlobalAvgPool: return [.globalAvgPool(keepSpatial: true)]
        case is Flatten: return [.flatten]
        case let m as Sequential:
            var result: [InferenceStep] = []
            for (name, layer) in m.children {
                guard let s = steps(layer, path: child(name)) else { return nil }
                result += s
            }
            return result
        case let m as ConvNet:
            guard let f = steps(m.features, path: child("features")), let c = steps(m.classifier, path: child("classifier")) else { return nil }
            return f + [.flatten] + c
        case let m as LeNet5:
            return [.conv(path: child("conv1.weight"), layer: m.conv1), .relu, .maxPool(kernel: 2, stride: 2),
                    .conv(path: child("conv2.weight"), layer: m.conv2), .relu, .maxPool(kernel: 2, stride: 2), .flatten,
                    .linear(path: child("fc1.weight"), layer: m.fc1), .relu, .linear(path: child("fc2.weight"), layer: m.fc2)]
        case let m as BasicBlock:
            guard let shortcut = steps(m.shortcut, path: child("shortcut")) else { return nil }
            return [.residual(body: [.conv(path: child("conv1.weight"), layer: m.conv1), .batchNorm(m.bn1), .relu,
                                     .conv(path: child("conv2.weight"), layer: m.conv2), .batchNorm(m.bn2)],
                              shortcut: shortcut)]
        case let m as ResNet:
            guard let l1 = steps(m.layer1, path: child("layer1")), let l2 = steps(m.layer2, path: child("layer2")),
                  let l3 = steps(m.layer3, path: child("layer3")) else { return nil }
            return [.conv(path: child("conv1.weight"), layer: m.conv1), .batchNorm(m.bn1), .relu] + l1 + l2 + l3
                + [.globalAvgPool(keepSpatial: false), .linear(path: child("fc.weight"), layer: m.fc)]
        default:
            return nil
        }
    }

    /// Runs `steps` on `x` in evaluation mode, with `linear` and `conv` computing those layers
    /// (the executor's choice of kernel); the rest runs on the engine's ops.
    public static func run(_ steps: [InferenceStep], _ x: Tensor,
                           linear: (String, Linear, Tensor) -> Tensor, conv: (String, Conv2d, Tensor) -> Tensor) -> Tensor {
        var h = x
        for step in steps {
            switch step {
            case let .linear(path, layer): h = linear(path, layer, h)
            case let .conv(path, layer): h = conv(path, layer, h)
            case let .batchNorm(bn): h = bn.forward(h, context: .evaluation)
            case .relu: h = h.relu()
            case let .maxPool(kernel, stride): h = maxPool2d(h, kernel: kernel, stride: stride)
            case let .globalAvgPool(keep):
                let pooled = globalAvgPool2d(h)
                h = keep ? pooled.reshaped([h.shape[0], h.shape[1], 1, 1]) : pooled
            case .flatten: h = h.flattened(from: 1)
            case let .residual(body, shortcut):
                let a = run(body, h, linear: linear, conv: conv)
                let b = shortcut.isEmpty ? h : run(shortcut, h, linear: linear, conv: conv)
                h = (a + b).relu()
            }
        }
        return h
    }
}
