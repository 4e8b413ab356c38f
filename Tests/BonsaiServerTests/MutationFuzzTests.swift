import BonsaiJobs
import BonsaiPruning
import BonsaiStore
import Foundation
import Testing
@testable import BonsaiServer

/// A small seeded mutator: bit flips, interesting bytes, truncation, duplication and deletion of
/// chunks, applied 1–4 at a time to a valid input.
struct Mutator {
    var rng: RandomGenerator

    init(seed: UInt64) { rng = RandomGenerator(seed: seed) }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) {
            guard !bytes.isEmpty else { bytes = [UInt8(below(256))]; continue }
            let at = below(bytes.count)
            switch below(7) {
            case 0: bytes[at] ^= UInt8(1 << below(8))
            case 1: bytes[at] = [0x00, 0xFF, 0x7F, 0x80, 0x01][below(5)]
            case 2: bytes.removeSubrange(at...)
            case 3: let end = min(bytes.count, at + 1 + below(64)); bytes.insert(contentsOf: bytes[at..<end], at: at)
            case 4: let end = min(bytes.count, at + 1 + below(64)); bytes.removeSubrange(at..<end)
            case 5: bytes.insert(UInt8(below(256)), at: at)
            default: // overwrite four bytes with a big value (length fields, counts)
                for k in 0..<4 where at + k < bytes.count { bytes[at + k] = 0xFF }
            }
        }
        return bytes
    }
}

/// Hostile-input fuzzing of every decoder that reads user bytes: thousands of seeded mutations of
/// valid inputs each end in success or the decoder's typed error — never a crash, hang or an
/// untyped error. A crash fails the run; the seed and iteration are in the message of any
/// untyped error so a failure can be replayed.
@Suite struct MutationFuzzTests {
    static let iterations = 1500

    @Test func jobSpecDecoder() throws {
        let valid = Array(tinySpec().utf8)
        var m = Mutator(seed: 11)
        var accepted = 0
        for i in 0..<Self.iterations {
            let input = m.mutate(valid)
            do { _ = try SubmittedSpec.parse(Data(input)); accepted += 1 } catch is PruningError {
            } catch {
                Issue.record("iteration \(i): untyped error \(error) for \(String(decoding: input, as: UTF8.self))")
            }
        }
        #expect(accepted < Self.iterations, "mutations never produced an invalid spec: the fuzzer is not exercising errors")
    }

    @Test func jobSpecValueSubstitution() throws {
        // Structure-aware: every leaf of the valid spec replaced by each hostile value.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(tinySpec().utf8)) as? [String: Any])
        let hostile: [Any] = [NSNull(), -1, 0, 1e308, -1e308, 9_223_372_036_854_775_807, "", String(repeating: "x", count: 10_000),
                              [Any](), [String: Any](), true, 0.5, "../../etc/passwd", ["name": "magnitude", "sparsity": 2]]
        func leaves(_ value: Any, _ path: [String]) -> [[String]] {
            guard let dict = value as? [String: Any] else { return [path] }
            return dict.keys.sorted().flatMap { leaves(dict[$0]!, path + [$0]) } + (path.isEmpty ? [] : [path])
        }
        func replacing(_ value: Any, _ path: ArraySlice<String>, with new: Any) -> Any {
            guard let key = path.first, var dict = value as? [String: Any] else { return new }
            dict[key] = replacing(dict[key] as Any, path.dropFirst(), with: new)
            return dict
        }
        var rejected = 0
        for path in leaves(object, []) {
            for value in hostile {
                let mutated = replacing(object, path[...], with: value)
                let data = try JSONSerialization.data(withJSONObject: mutated)
                do { _ = try SubmittedSpec.parse(data) } catch let error as PruningError {
                    rejected += 1
                    if case let .invalidSetting(field, _) = error { #expect(!field.isEmpty || path.isEmpty, "\(path): no field named") }
                } catch {
                    Issue.record("\(path) = \(value): untyped error \(error)")
                }
            }
        }
        #expect(rejected > 50)
    }

    @Test func multipartParser() throws {
        var form = MultipartBody()
        form.add("format", "idx")
        form.add("train_images", Data([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]), filename: "a")
        let valid = [UInt8](form.finished())
        var m = Mutator(seed: 12)
        for i in 0..<Self.iterations {
            let input = m.mutate(valid)
            do { _ = try MultipartForm(body: Data(input), boundary: form.boundary) } catch is MultipartError {
            } catch { Issue.record("iteration \(i): untyped error \(error)") }
        }
    }

    @Test func dataReaders() throws {
        let root = repositoryRoot.appendingPathComponent("data")
        let idx = try DataFile.read(root.appendingPathComponent("sklearn-digits/digits-labels-idx1-ubyte.gz").path)
        let idxImages = Array(try DataFile.read(root.appendingPathComponent("sklearn-digits/digits-images-idx3-ubyte.gz").path).prefix(16 + 64 * 4))
        let tsv = Array("1\ta fine film\n0\tnot good\n".utf8)
        var cifar = [UInt8](repeating: 7, count: 2 * 3073)
        cifar[0] = 3; cifar[3073] = 9
        let gz = try Gzip.compress(idx)
        var m = Mutator(seed: 13)
        for i in 0..<Self.iterations {
            do { _ = try IDXFormat.parse(m.mutate(Array(idx)), file: "labels", expectedRank: 1) } catch is DataError {
            } catch { Issue.record("idx \(i): \(error)") }
            do { _ = try IDXFormat.parse(m.mutate(idxImages), file: "images", expectedRank: 3) } catch is DataError {
            } catch { Issue.record("idx images \(i): \(error)") }
            do { _ = try TSVFormat.parse(m.mutate(tsv), file: "tsv", classCount: 2) } catch is DataError {
            } catch { Issue.record("tsv \(i): \(error)") }
            do { _ = try CIFARFormat.parse(m.mutate(cifar), file: "cifar", classCount: 10) } catch is DataError {
            } catch { Issue.record("cifar \(i): \(error)") }
            do { _ = try Gzip.decompressIfNeeded(m.mutate(gz), file: "gz", limits: .standard) } catch is DataError {
            } catch { Issue.record("gzip \(i): \(error)") }
        }
    }

    @Test func safetensorsReader() throws {
        var rng = RandomGenerator(seed: 5)
        let model = try ModelZoo.make("lenet300", input: .image(channels: 1, height: 8, width: 8), classes: 10,
                                      options: ArchitectureOptions(hidden: [8]), rng: &rng)
        let path = NSTemporaryDirectory() + "fuzz-\(UUID().uuidString).safetensors"
        try model.saveStateDict(to: path)
        let valid = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var m = Mutator(seed: 14)
        let mutatedPath = path + ".mutated"
        for i in 0..<(Self.iterations / 3) {
            // Mutations concentrated on the header, where the offsets and shapes live.
            let headerLength = min(valid.count, 8 + Int(valid[0]) + Int(valid[1]) << 8)
            let input = m.mutate(Array(valid[..<headerLength])) + valid[headerLength...]
            try Data(input).write(to: URL(fileURLWithPath: mutatedPath))
            do {
                let file = try SafetensorsFile(path: mutatedPath)
                _ = try file.floatTensors()
            } catch is SafetensorsError {
            } catch { Issue.record("safetensors \(i): \(error)") }
        }
    }
}
