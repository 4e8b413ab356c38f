import Foundation

/// What runtime inference needs besides the model weights, in one file: `runtime.safetensors`.
///
/// Tensors (F32 unless noted), all indexed by the *original* channel numbers of the model:
/// - `gates.{l}.gate.weight` `[C_out, C_in]`, `gates.{l}.gate.bias` `[C_out]`: the dynamic gate of
///   gated conv `l` (l = 0, 1, … in forward order), `g_dyn = W · GAP(x) + b`;
/// - `gates.{l}.static_gate` `[C_out]`: the static gate `s_c` multiplying channel c;
/// - `static_masks.{l}` (U8 0/1, `[C_out]`): the channels kept in storage (the static policy);
///   the pruned ones are already zero in `weights.safetensors` and absent from `compact.safetensors`;
/// - `dynamic_agent.*`: the dynamic agent (`encoders.{l}` Linear(C_in + C_out → H), `rnn_ih`
///   Linear(H + 1 → H), `rnn_hh` Linear(H → H), heads `mu`, `log_sigma`, `value` Linear(H → 1));
/// - `static_agent.*`: the static agent (no longer needed once the static masks are fixed; kept
///   for completeness and to continue training).
///
/// Metadata: `layers` (JSON list of the gated convs' module paths and their batch norms),
/// `budget`, `dp`, `static_ratios` (the static agent's clipped keep-ratios per layer),
/// `evaluation` (``RuntimeEvaluation`` as JSON, calibrated), `calibration` (``BudgetCalibration/Result``:
/// the shifts added to the agents' means), `evaluation_uncalibrated`, and `inference` (the recipe, as on
/// ``RuntimeInference``). Per input and gated layer: `h_l = tanh(rnn_ih([ReLU(enc_l([GAP(x),
/// g_dyn])), b]) + rnn_hh(h_{l−1}))`, `r = clip(mu(h_l) + b + s_dyn, 0.1, 1)` (`s_dyn`: the
/// calibration's `dynamic_shift`, 0 without calibration); keep, among the static
/// survivors, the top `ceil((1 − (1 − r_st)(1 − dp) − (1 − r)·dp)·C)` channels by `g_dyn`
/// (at least one); compute only those, times `g_dyn·s` (sign-fixed), and read only them downstream.
public enum RuntimeArtifact {
    /// The stash key prefix under which the runtime tensors survive a resume.
    public static let stashPrefix = "runtime/"

    public static func tensors(network: GatedNetwork, policy: RuntimePolicy) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (path, p) in network.gateModule.namedParameters() { result["gates." + path] = p.value.detached() }
        for (path, p) in policy.dynamicAgent.namedParameters() { result["dynamic_agent." + path] = p.value.detached() }
        for (path, p) in policy.staticAgent.namedParameters() { result["static_agent." + path] = p.value.detached() }
        return result
    }

    /// Loads tensors written by ``tensors(network:policy:)`` back into the modules.
    public static func load(_ tensors: [String: Tensor], network: GatedNetwork, policy: RuntimePolicy) throws {
        for (prefix, module) in [("gates.", network.gateModule), ("dynamic_agent.", policy.dynamicAgent as Module),
                                 ("static_agent.", policy.staticAgent as Module)] {
            for (path, p) in module.namedParameters() {
                guard let t = tensors[prefix + path], t.shape == p.shape else {
                    throw PruningError.invalidMask(path: prefix + path, detail: "runtime state missing or of the wrong shape")
                }
                p.assign(t)
            }
        }
    }

    /// Writes `runtime.safetensors` from a finished pipeline's stash and notes.
    public static func write(stash: [String: Tensor], notes: [String: String], to file: String) throws {
        var values: [String: SafetensorsValue] = [:]
        for (key, tensor) in stash where key.hasPrefix(stashPrefix) {
            values[String(key.dropFirst(stashPrefix.count))] = .tensor(tensor)
        }
        if let json = notes[RuntimeChannelRL.staticNote],
           let frozen = try? JSONDecoder().decode(FrozenStatic.self, from: Data(json.utf8)) {
            for (l, mask) in frozen.masks.enumerated() {
                values["static_masks.\(l)"] = .uint8(mask.map { $0 ? 1 : 0 }, shape: [mask.count])
            }
        }
        var metadata = ["format": "bonsai-runtime-v1", "inference": "see docs/runtime-pruning.md"]
        for key in [RuntimeChannelRL.layersNote, RuntimeChannelRL.staticNote, RuntimeChannelRL.evaluationNote,
                    RuntimeChannelRL.settingsNote, RuntimeChannelRL.calibrationNote, RuntimeChannelRL.uncalibratedNote] {
            if let value = notes[key] { metadata[key] = value }
        }
        try SafetensorsWriter.write(values, metadata: metadata, to: file)
    }
}

/// The static decisions after training: clipped ratios and kept-channel indicators per layer.
public struct FrozenStatic: Codable, Sendable, Equatable {
    public var ratios: [Double]
    public var masks: [[Bool]]
}
