import BonsaiJobs
import BonsaiPruning
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import BonsaiServer

/// A `multipart/form-data` body of text fields and files.
struct MultipartBody {
    let boundary = "bonsai-test-\(UUID().uuidString)"
    var data = Data()

    mutating func add(_ name: String, _ content: Data, filename: String? = nil) {
        data.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"".utf8))
        if let filename { data.append(Data("; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream".utf8)) }
        data.append(Data("\r\n\r\n".utf8))
        data.append(content)
        data.append(Data("\r\n".utf8))
    }

    mutating func add(_ name: String, _ text: String) { add(name, Data(text.utf8)) }

    func finished() -> Data { data + Data("--\(boundary)--\r\n".utf8) }

    func headers(_ t: TestServer, _ token: String) -> HTTPFields {
        var h = t.headers(token)
        h[.contentType] = "multipart/form-data; boundary=\(boundary)"
        return h
    }
}

@Suite(.serialized) struct DatasetUploadTests {
    let digits = repositoryRoot.appendingPathComponent("data/sklearn-digits")
    func file(_ name: String) throws -> Data { try Data(contentsOf: digits.appendingPathComponent(name)) }

    func digitsForm(pixelMax: String = "16", dropLabels: Bool = false) throws -> MultipartBody {
        var form = MultipartBody()
        form.add("format", "idx")
        form.add("name", "digits again")
        form.add("pixel_max", pixelMax)
        form.add("train_images", try file("digits-images-idx3-ubyte.gz"), filename: "images.gz")
        if !dropLabels { form.add("train_labels", try file("digits-labels-idx1-ubyte.gz"), filename: "labels.gz") }
        return form
    }

    @Test func multipartParserIsStrict() throws {
        var form = MultipartBody()
        form.add("a", "1")
        form.add("b", Data([0, 13, 10, 45, 45, 255]), filename: "x.bin")
        let parsed = try MultipartForm(body: form.finished(), boundary: form.boundary)
        #expect(try parsed.text("a") == "1")
        #expect(parsed["b"] == Data([0, 13, 10, 45, 45, 255]))
        #expect(throws: MultipartError.self) { try MultipartForm(body: form.data, boundary: form.boundary + "x") }
        let truncated = form.finished().prefix(form.finished().count - 40)
        #expect(throws: MultipartError.self) { try MultipartForm(body: Data(truncated), boundary: form.boundary) }
        var twice = MultipartBody()
        twice.add("a", "1")
        twice.add("a", "2")
        #expect(throws: MultipartError.self) { try MultipartForm(body: twice.finished(), boundary: twice.boundary) }
        #expect(throws: MultipartError.self) { try MultipartForm.boundary(contentType: "application/json") }
        #expect(try MultipartForm.boundary(contentType: "multipart/form-data; boundary=\"abc\"") == "abc")
    }

    @Test func uploadValidatesAndIsolates() async throws {
        let t = try TestServer()
        let app = Application(router: t.server.buildRouter())
        try await app.test(.router) { client in
            let form = try digitsForm()
            let created = try await client.execute(uri: "/v1/datasets", method: .post, headers: form.headers(t, t.acme),
                                                   body: ByteBuffer(bytes: form.finished()))
            #expect(created.status == .created, "\(String(buffer: created.body))")
            let body = json(created.body)
            let id = try #require(body["id"] as? String)
            let manifest = try #require(body["manifest"] as? [String: Any])
            #expect(manifest["input_shape"] as? [Int] == [1, 8, 8])
            #expect((manifest["class_names"] as? [String])?.count == 10)
            #expect(manifest["train_samples"] as? Int == 1438 && manifest["test_samples"] as? Int == 359)
            #expect(manifest["carved_test"] as? Bool == true)
            // The measured normalisation equals the built-in digits constants (same split rule).
            let mean = try #require((manifest["normalization"] as? [String: Any])?["mean"] as? [Double])
            #expect(abs(mean[0] - 0.305844706) < 1e-6)
            #expect(try await client.execute(uri: "/v1/datasets/\(id)", method: .get, headers: t.headers(t.acme)).status == .ok)
            #expect(try await client.execute(uri: "/v1/datasets/\(id)", method: .get, headers: t.headers(t.globex)).status == .notFound)
            let listed = json(try await client.execute(uri: "/v1/datasets", method: .get, headers: t.headers(t.acme)).body)
            #expect((listed["uploaded"] as? [[String: Any]])?.first?["id"] as? String == id)
            #expect((json(try await client.execute(uri: "/v1/datasets", method: .get, headers: t.headers(t.globex)).body)["uploaded"] as? [Any])?.isEmpty == true)

            // Another tenant cannot name it in a job.
            let spec = tinySpec().replacingOccurrences(of: "{\"name\": \"digits\"}", with: "{\"upload\": \"\(id)\"}")
            let foreign = try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.globex), body: ByteBuffer(string: spec))
            #expect(foreign.status == .unprocessableContent && json(foreign.body)["field"] as? String == "dataset.upload")

            // Bad uploads: each a 4xx naming the problem, and nothing left on disk.
            var truncated = MultipartBody()
            truncated.add("format", "idx")
            truncated.add("train_images", try file("digits-images-idx3-ubyte.gz").prefix(500))
            truncated.add("train_labels", try file("digits-labels-idx1-ubyte.gz"))
            var unknownPart = try digitsForm()
            unknownPart.add("evil", "x")
            var badFormat = MultipartBody()
            badFormat.add("format", "parquet")
            var badLabels = MultipartBody()
            badLabels.add("format", "tsv")
            badLabels.add("classes", "neg\npos\n")
            badLabels.add("train", "0\tfine\n7\tout of range\n")
            let cases: [(String, MultipartBody, HTTPResponse.Status, String)] = [
                ("missing labels", try digitsForm(dropLabels: true), .unprocessableContent, "train_labels"),
                ("pixel above pixel_max", try digitsForm(pixelMax: "10"), .unprocessableContent, "body"),
                ("pixel_max out of range", try digitsForm(pixelMax: "999"), .unprocessableContent, "pixel_max"),
                ("truncated gzip", truncated, .unprocessableContent, "body"),
                ("unknown part", unknownPart, .unprocessableContent, "evil"),
                ("unknown format", badFormat, .unprocessableContent, "format"),
                ("label out of range", badLabels, .unprocessableContent, "body"),
            ]
            for (name, form, status, field) in cases {
                let r = try await client.execute(uri: "/v1/datasets", method: .post, headers: form.headers(t, t.acme),
                                                 body: ByteBuffer(bytes: form.finished()))
                #expect(r.status == status, "\(name): \(String(buffer: r.body))")
                #expect(json(r.body)["field"] as? String == field, "\(name): \(String(buffer: r.body))")
                #expect(!(json(r.body)["detail"] as? String ?? "").contains(t.server.layout.root), "\(name) leaks a server path")
            }
            let notMultipart = try await client.execute(uri: "/v1/datasets", method: .post, headers: t.headers(t.acme),
                                                        body: ByteBuffer(string: "{}"))
            #expect(notMultipart.status == .badRequest)
            let kept = try FileManager.default.contentsOfDirectory(atPath: t.server.layout.absolute("uploads/datasets"))
            #expect(kept == [id])
        }
    }

    /// A job on an uploaded data set starting from uploaded weights, with no training: the
    /// downloaded weights are exactly the uploaded ones with the pruned entries zeroed.
    @Test func jobUsesUploadedDataAndWeights() async throws {
        let t = try TestServer(workers: 1)
        try await t.server.testLive { client in
            let form = try digitsForm()
            let created = try await client.execute(uri: "/v1/datasets", method: .post, headers: form.headers(t, t.acme),
                                                   body: ByteBuffer(bytes: form.finished()))
            let datasetID = try #require(json(created.body)["id"] as? String, "\(String(buffer: created.body))")
            let weights = try UploadTests().validWeights()
            let options = "%7B%22hidden%22%3A%5B32%5D%7D"
            let model = try await client.execute(uri: "/v1/models?architecture=lenet300&dataset=\(datasetID)&options=\(options)",
                                                 method: .post, headers: t.headers(t.acme), body: ByteBuffer(bytes: weights))
            let modelID = try #require(json(model.body)["id"] as? String, "\(String(buffer: model.body))")
            let spec = """
                {"model": {"architecture": "lenet300", "options": {"hidden": [32]}}, "dataset": {"upload": "\(datasetID)"},
                 "weights": "\(modelID)", "method": {"name": "magnitude", "sparsity": 0.5},
                 "train": {"steps": 0, "batch_size": 32, "optimizer": {"name": "sgd", "lr": 0.05}}, "finetune": {"steps": 0}, "seed": 3}
                """
            let wrongArch = spec.replacingOccurrences(of: "\"lenet300\", \"options\": {\"hidden\": [32]}", with: "\"lenet5\"")
            let rejected = try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.acme), body: ByteBuffer(string: wrongArch))
            #expect(rejected.status == .unprocessableContent && json(rejected.body)["field"] as? String == "weights")
            let submitted = try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.acme), body: ByteBuffer(string: spec))
            #expect(submitted.status == .accepted, "\(String(buffer: submitted.body))")
            let id = try #require(json(submitted.body)["id"] as? String)
            let job = try await waitForJob(client, t, id: id, seconds: 120)
            #expect(job["status"] as? String == "succeeded", "\(job)")
            let downloaded = try await client.execute(uri: "/v1/jobs/\(id)/weights", method: .get, headers: t.headers(t.acme))
            let path = NSTemporaryDirectory() + "bonsai-upload-job-\(UUID().uuidString).safetensors"
            try Data(downloaded.body.readableBytesView).write(to: URL(fileURLWithPath: path))
            let uploadedPath = path + ".uploaded"
            try weights.write(to: URL(fileURLWithPath: uploadedPath))
            let got = try SafetensorsFile(path: path).floatTensors()
            let original = try SafetensorsFile(path: uploadedPath).floatTensors()
            for (name, tensor) in original {
                let a = try #require(got[name], "\(name) missing").floats, b = tensor.floats
                #expect(a.count == b.count)
                let mismatched = zip(a, b).filter { $0 != 0 && $0 != $1 }.count
                #expect(mismatched == 0, "\(name): \(mismatched) kept entries differ from the uploaded weights")
            }
        }
    }
}
