import BonsaiJobs
import BonsaiPruning
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import BonsaiServer

/// A real server on a free port with a worker pool: submit → watch → download.
@Suite(.serialized) struct EndToEndTests {
    @Test func submitWatchDownload() async throws {
        let t = try TestServer(workers: 1)
        try await t.server.testLive { client in
            let created = try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.acme), body: ByteBuffer(string: tinySpec()))
            #expect(created.status == .accepted)
            let id = try #require(json(created.body)["id"] as? String)
            let job = try await waitForJob(client, t, id: id, seconds: 180)
            #expect(job["status"] as? String == "succeeded", "\(job)")
            let result = try #require(job["result"] as? [String: Any])
            let sparsity = try #require(result["sparsity"] as? Double)
            let accuracy = try #require(result["test_accuracy"] as? Double)
            #expect(abs(sparsity - 0.8) < 1e-3 && (0...1).contains(accuracy))
            #expect((result["parameters"] as? Int ?? 0) > 0 && (result["nonzero_parameters"] as? Int ?? 0) > 0)
            let progress = try #require(job["progress"] as? [String: Any])
            #expect(progress["fraction"] as? Double == 1 && progress["completed_steps"] as? Int == 32)

            // Weights: length, digest, names and shapes of the architecture, masked weights zero.
            let weights = try await client.execute(uri: "/v1/jobs/\(id)/weights", method: .get, headers: t.headers(t.acme))
            #expect(weights.status == .ok)
            let bytes = Data(weights.body.readableBytesView)
            #expect(weights.headers[.contentLength] == String(bytes.count))
            #expect(weights.headers[HTTPField.Name("X-Content-SHA256")!] == SHA256.hex(bytes))
            let file = NSTemporaryDirectory() + "bonsai-e2e-\(UUID().uuidString).safetensors"
            try bytes.write(to: URL(fileURLWithPath: file))
            let downloaded = try SafetensorsFile(path: file).floatTensors()
            let data = try PreparedData.load(DatasetSpec(name: "digits"), batchSize: 32, seed: 1,
                                             directory: DataDirectory(path: repositoryRoot.appendingPathComponent("data").path))
            let reference = try data.makeModel(ModelSpec(architecture: "lenet300", options: ArchitectureOptions(hidden: [32])), seed: 1)
            let expected = Dictionary(uniqueKeysWithValues: reference.namedParameters().map { ($0.0, $0.1.shape) })
            for (name, shape) in expected { #expect(downloaded[name]?.shape == shape, "\(name)") }
            let masks = try await client.execute(uri: "/v1/jobs/\(id)/masks", method: .get, headers: t.headers(t.acme))
            let maskFile = file + ".masks"
            try Data(masks.body.readableBytesView).write(to: URL(fileURLWithPath: maskFile))
            let maskNames = try SafetensorsFile(path: maskFile).names
            var zeros = 0, total = 0
            for name in maskNames {
                let values = try #require(downloaded[name]).floats
                zeros += values.filter { $0 == 0 }.count
                total += values.count
            }
            #expect(abs(Double(zeros) / Double(total) - sparsity) < 1e-3, "zeros in the downloaded prunable weights")

            // Range request.
            let part = try await client.execute(uri: "/v1/jobs/\(id)/weights", method: .get, headers: t.headers(t.acme, ["Range": "bytes=0-7"]))
            #expect(part.status == .partialContent && part.body.readableBytes == 8)
            #expect(part.headers[.contentRange] == "bytes 0-7/\(bytes.count)")
            #expect(Data(part.body.readableBytesView) == bytes.prefix(8))
            let bad = try await client.execute(uri: "/v1/jobs/\(id)/weights", method: .get, headers: t.headers(t.acme, ["Range": "bytes=\(bytes.count)-"]))
            #expect(bad.status == .rangeNotSatisfiable)
            let report = json(try await client.execute(uri: "/v1/jobs/\(id)/report", method: .get, headers: t.headers(t.acme)).body)
            #expect(report["test_accuracy"] as? Double == accuracy)
            #expect(try await client.execute(uri: "/v1/jobs/\(id)/compact", method: .get, headers: t.headers(t.acme)).status == .notFound)

            // Metrics history with filters, and the SSE feed (ends because the job is final; resumable).
            let metrics = json(try await client.execute(uri: "/v1/jobs/\(id)/metrics?key=loss&since=10", method: .get, headers: t.headers(t.acme)).body)
            let samples = try #require(metrics["metrics"] as? [[String: Any]])
            #expect(samples.map { $0["step"] as? Int ?? -1 } == Array(10...32))
            let feed = try await client.execute(uri: "/v1/jobs/\(id)/events", method: .get, headers: t.headers(t.acme))
            let text = String(buffer: feed.body)
            #expect(feed.headers[.contentType] == "text/event-stream")
            #expect(text.contains("event: phase_started") && text.contains("event: pruned") && text.contains("\"succeeded\""))
            let ids = text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
            let resumed = try await client.execute(uri: "/v1/jobs/\(id)/events", method: .get,
                                                   headers: t.headers(t.acme, ["Last-Event-ID": String(ids[ids.count - 2])]))
            #expect(String(buffer: resumed.body).split(separator: "\n").filter { $0.hasPrefix("id: ") }.count == 1)
        }
    }

    /// Drain (SIGTERM path) mid-training re-queues the job without counting the attempt; a new
    /// pool resumes it from its snapshot and the final metrics and masks equal an uninterrupted run's.
    @Test func drainAndResumeMatchesUninterruptedRun() async throws {
        let spec = tinySpec(steps: 240, finetune: 40, checkpointEvery: 20)
        func run(interrupt: Bool) async throws -> (result: String, masks: String, metrics: [MetricSample]) {
            let t = try TestServer(workers: 1)
            let store = t.server.store
            let submitted = try SubmittedSpec.parse(Data(spec.utf8))
            let job = try store.submit(NewJob(tenant: "acme", spec: submitted.canonicalJSON))
            let pool = try #require(t.server.pool)
            try pool.start()
            if interrupt {
                while (try store.job(id: job.id)?.completedSteps ?? 0) < 60 { try await Task.sleep(for: .milliseconds(20)) }
                #expect(pool.drain(timeout: 25))
                let row = try #require(try store.job(id: job.id))
                #expect(row.status == .queued && row.attempts == 0, "drained job re-queued without counting the attempt")
                #expect(try store.snapshot(jobSeq: row.seq) != nil)
                let again = WorkerPool(store: store, layout: t.server.layout, config: t.server.config.workers,
                                       datasets: try DataDirectory(path: repositoryRoot.appendingPathComponent("data").path))
                try again.start()
                try await waitFinished(store, job.id)
                again.drain()
            } else {
                try await waitFinished(store, job.id)
                pool.drain()
            }
            let row = try #require(try store.job(id: job.id))
            #expect(row.status == .succeeded, "\(row.error ?? "")")
            let masks = try #require(try store.artifact(jobSeq: row.seq, kind: "masks"))
            return (row.result ?? "", masks.sha256, try store.metrics(jobSeq: row.seq, key: "loss"))
        }
        let straight = try await run(interrupt: false)
        let resumed = try await run(interrupt: true)
        #expect(straight.result == resumed.result)
        #expect(straight.masks == resumed.masks)
        #expect(straight.metrics.map(\.step) == resumed.metrics.map(\.step), "one loss per step, none duplicated or lost")
        #expect(straight.metrics.map(\.value) == resumed.metrics.map(\.value))
    }

    func waitFinished(_ store: any JobStore, _ id: String) async throws {
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            if let job = try store.job(id: id), job.status.isTerminal { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
