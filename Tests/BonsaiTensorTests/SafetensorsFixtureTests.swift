import Foundation
import Testing
import BonsaiTensor

/// Every PyTorch fixture in the test bundle reads back with exactly the names, shapes, dtypes and
/// metadata that `Fixtures/manifest.json` lists.
@Suite struct SafetensorsFixtureTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let shapes: [String: [Int]]
        let metadata: [String: String]
        var testDescription: String { name }
    }

    static let directory: URL? = Bundle.module.url(forResource: "Fixtures", withExtension: nil)

    static let manifest: [Case] = {
        guard let directory,
              let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = root["cases"] as? [[String: Any]] else { return [] }
        return cases.compactMap { item in
            guard let name = item["case"] as? String, let tensors = item["tensors"] as? [String: [Int]] else { return nil }
            return Case(name: name, shapes: tensors, metadata: item["metadata"] as? [String: String] ?? [:])
        }
    }()

    /// The manifest entries whose file is in the bundle (the bundle holds the engine-level cases).
    static let present: [Case] = manifest.filter { c in
        directory.map { FileManager.default.fileExists(atPath: $0.appendingPathComponent(c.name + ".safetensors").path) } ?? false
    }

    @Test func everyFixtureFileIsInTheManifest() throws {
        let directory = try #require(Self.directory, "Fixtures folder missing from the test bundle")
        #expect(Self.manifest.count > 0, "manifest.json did not parse")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".safetensors") }.map { String($0.dropLast(".safetensors".count)) }
        let listed = Set(Self.manifest.map(\.name))
        for file in files { #expect(listed.contains(file), "\(file).safetensors is not in manifest.json") }
        #expect(Self.present.count == files.count)
        #expect(files.count >= 24)
    }

    @Test(arguments: present)
    func fixtureMatchesManifest(_ c: Case) throws {
        let f = try Fixture(c.name)
        #expect(Set(f.file.names) == Set(c.shapes.keys), "\(c.name): names")
        #expect(f.file.metadata == c.metadata, "\(c.name): metadata")
        for entry in f.file.entries {
            #expect(entry.shape == c.shapes[entry.name], "\(c.name).\(entry.name): shape \(entry.shape) vs \(c.shapes[entry.name] ?? [])")
            switch entry.dtype {
            case .float32:
                let t = try f(entry.name)
                #expect(t.shape == entry.shape && t.dtype == .float32)
                #expect(t.isFinite, "\(c.name).\(entry.name) has non-finite values")
            case .int64:
                #expect(try f.integers(entry.name).count == entry.elementCount)
            default:
                Issue.record("\(c.name).\(entry.name): unexpected dtype \(entry.dtype) (fixtures are F32 and I64)")
            }
        }
        // The files were written by the reference implementation with 8-byte aligned data.
        let handle = try FileHandle(forReadingFrom: Self.directory!.appendingPathComponent(c.name + ".safetensors"))
        defer { try? handle.close() }
        let prefix = try #require(try handle.read(upToCount: 8))
        let headerLength = prefix.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        #expect((8 + headerLength) % 8 == 0)
    }
}
