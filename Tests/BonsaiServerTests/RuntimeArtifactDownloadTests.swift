import BonsaiPruning
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import BonsaiServer

/// A `runtime-channel-rl` job over the API: `GET /v1/jobs/{id}/runtime` serves the runtime state
/// (gates, static masks, agents) with the calibration and both evaluations in its metadata.
@Suite(.serialized) struct RuntimeArtifactDownloadTests {
    static let spec = """
    {"model": {"architecture": "conv2"}, "dataset": {"name": "digits"},
     "method": {"name": "runtime-channel-rl", "hidden": 8, "agent_epochs": 1, "base_epochs": 1, "max_batches": 3},
     "train": {"steps": 10, "batch_size": 32, "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}}, "seed": 1}
    """

    @Test func runtimeArtifactHoldsWhatInferenceNeeds() async throws {
        let t = try TestServer(workers: 1)
        try await t.server.testLive { client in
            let created = try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.acme), body: ByteBuffer(string: Self.spec))
            #expect(created.status == .accepted)
            let id = try #require(json(created.body)["id"] as? String)
            let job = try await waitForJob(client, t, id: id, seconds: 240)
            #expect(job["status"] as? String == "succeeded", "\(job)")
            let response = try await client.execute(uri: "/v1/jobs/\(id)/runtime", method: .get, headers: t.headers(t.acme))
            #expect(response.status == .ok)
            let bytes = Data(response.body.readableBytesView)
            #expect(response.headers[.contentLength] == String(bytes.count))
            #expect(response.headers[HTTPField.Name("X-Content-SHA256")!] == SHA256.hex(bytes))
            let path = NSTemporaryDirectory() + "bonsai-runtime-\(UUID().uuidString).safetensors"
            try bytes.write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let file = try SafetensorsFile(path: path)
            // conv2: conv 1→64, conv 64→64; agents with hidden 8.
            let shapes: [String: [Int]] = [
                "gates.0.gate.weight": [64, 1], "gates.0.gate.bias": [64], "gates.0.static_gate": [64],
                "gates.1.gate.weight": [64, 64], "static_masks.0": [64], "static_masks.1": [64],
                "dynamic_agent.encoders.0.weight": [8, 65], "dynamic_agent.encoders.1.weight": [8, 128],
                "dynamic_agent.rnn_ih.weight": [8, 9], "dynamic_agent.rnn_hh.weight": [8, 8], "dynamic_agent.mu.weight": [1, 8],
            ]
            for (name, shape) in shapes { #expect(try file.entry(name).shape == shape, "\(name)") }
            let calibration = try JSONDecoder().decode(BudgetCalibration.Result.self,
                                                       from: Data(try #require(file.metadata[RuntimeChannelRL.calibrationNote]).utf8))
            #expect(abs(calibration.macFraction / calibration.macCap - 1) <= 0.05, "calibrated on training data: \(calibration)")
            let evaluation = try JSONDecoder().decode(RuntimeEvaluation.self,
                                                      from: Data(try #require(file.metadata[RuntimeChannelRL.evaluationNote]).utf8))
            // On the test set, a different sample of the same distribution as the calibration batches.
            #expect(abs(evaluation.macFraction / evaluation.macCap - 1) <= 0.1, "\(evaluation)")
            #expect(file.metadata[RuntimeChannelRL.uncalibratedNote] != nil && file.metadata[RuntimeChannelRL.layersNote] != nil)
            // The static masks in the artifact are the channels the stored weights keep.
            let kept = try file.integers("static_masks.1").filter { $0 == 1 }.count
            #expect(kept == evaluation.staticKept[1])
        }
    }
}
