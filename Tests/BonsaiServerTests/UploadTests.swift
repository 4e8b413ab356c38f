import BonsaiJobs
import BonsaiPruning
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import BonsaiServer

@Suite struct UploadTests {
    /// A lenet300 [32] state dict for digits, as bytes.
    func validWeights() throws -> Data {
        var rng = RandomGenerator(seed: 5)
        let model = try ModelZoo.make("lenet300", input: .image(channels: 1, height: 8, width: 8), classes: 10,
                                      options: ArchitectureOptions(hidden: [32]), rng: &rng)
        let path = NSTemporaryDirectory() + "upload-\(UUID().uuidString).safetensors"
        try model.saveStateDict(to: path)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    @Test func validUploadAndHostileFiles() async throws {
        let t = try TestServer()
        let app = Application(router: t.server.buildRouter())
        let good = try validWeights()
        let options = "%7B%22hidden%22%3A%5B32%5D%7D"  // {"hidden":[32]}
        let uri = "/v1/models?architecture=lenet300&dataset=digits&options=\(options)"
        var hugeHeader = Data(good)
        hugeHeader.replaceSubrange(0..<8, with: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
        var badJSON = Data(good)
        badJSON[8] = UInt8(ascii: "[")
        let cases: [(String, Data, HTTPResponse.Status)] = [
            ("truncated", good.prefix(good.count - 10), .unprocessableContent),
            ("tiny", Data([1, 2, 3]), .unprocessableContent),
            ("huge header length", hugeHeader, .unprocessableContent),
            ("corrupt header", badJSON, .unprocessableContent),
            ("empty", Data(), .unprocessableContent),
        ]
        try await app.test(.router) { client in
            let created = try await client.execute(uri: uri, method: .post, headers: t.headers(t.acme), body: ByteBuffer(bytes: good))
            #expect(created.status == .created, "\(String(buffer: created.body))")
            let id = try #require(json(created.body)["id"] as? String)
            #expect(json(created.body)["sha256"] as? String == SHA256.hex(good))
            #expect(try await client.execute(uri: "/v1/models/\(id)", method: .get, headers: t.headers(t.acme)).status == .ok)
            #expect(try await client.execute(uri: "/v1/models/\(id)", method: .get, headers: t.headers(t.globex)).status == .notFound)
            for (name, body, status) in cases {
                let r = try await client.execute(uri: uri, method: .post, headers: t.headers(t.acme), body: ByteBuffer(bytes: body))
                #expect(r.status == status, "\(name): \(String(buffer: r.body))")
                #expect(r.headers[.contentType] == "application/problem+json", "\(name)")
            }
            // Right file, wrong architecture options: shapes differ.
            let mismatch = try await client.execute(uri: "/v1/models?architecture=lenet300&dataset=digits", method: .post,
                                                    headers: t.headers(t.acme), body: ByteBuffer(bytes: good))
            #expect(mismatch.status == .unprocessableContent)
            #expect(json(mismatch.body)["field"] as? String == "body")
            let unknown = try await client.execute(uri: "/v1/models?architecture=nope&dataset=digits", method: .post,
                                                   headers: t.headers(t.acme), body: ByteBuffer(bytes: good))
            #expect(json(unknown.body)["field"] as? String == "architecture")
            #expect(try await client.execute(uri: "/v1/models?dataset=digits", method: .post, headers: t.headers(t.acme),
                                             body: ByteBuffer(bytes: good)).status == .unprocessableContent)
            // Nothing but the one valid upload was kept.
            let kept = try FileManager.default.contentsOfDirectory(atPath: t.server.layout.absolute("uploads"))
            #expect(kept == ["\(id).safetensors"])
        }
    }
}
