import Foundation
import Testing
import BonsaiTensor

/// Writing and reading back safetensors files: every dtype with metadata, the 8-byte aligned
/// header, the atomic temp-and-rename write, and a 50 MB tensor read without a second copy.
@Suite struct SafetensorsRoundTripTests {
    /// A fresh directory, removed after `body`.
    static func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bonsai-safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }

    static func headerLength(_ path: String) throws -> Int {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return Int(data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
    }

    @Test func everyDTypeRoundTripsWithMetadata() throws {
        try Self.withTemporaryDirectory { dir in
            let path = dir + "/all.safetensors"
            let f32 = Tensor(shape: [2, 3], scalars: [1.5, -2, 0, .infinity, -.greatestFiniteMagnitude, .leastNonzeroMagnitude] as [Float])
            let f64 = Tensor(shape: [3], scalars: [Double.pi, -0.0, 1e-300])
            let slice = randomTensor([4, 3], seed: 3).sliced(axis: 0, start: 1, length: 2)
            let ints = [Int(Int64.min), -1, 0, 1, Int(Int64.max), 42]
            let bytes = (0...255).map { UInt8($0) }
            let flags = [true, false, false, true, true]
            let metadata = ["format": "pt", "note": "quote \" backslash \\ newline \n tab \t é 🌳", "": "empty key"]
            try SafetensorsWriter.write([
                "f32": .tensor(f32), "f64": .tensor(f64), "slice": .tensor(slice), "scalar": .tensor(Tensor(7, dtype: .float64)),
                "i64": .int64(ints, shape: [2, 3]), "u8": .uint8(bytes, shape: [16, 16]), "bool": .bool(flags, shape: [5]),
                "empty.f32": .tensor(Tensor.zeros([0, 4])), "empty.i64": .int64([], shape: [0]),
                "empty.u8": .uint8([], shape: [3, 0]), "empty.bool": .bool([], shape: [0]),
                "odd \"name\"\\ é\n": .tensor(Tensor.ones([1])),
            ], metadata: metadata, to: path)

            let file = try SafetensorsFile(path: path)
            #expect(file.metadata == metadata)
            #expect(Set(file.names) == ["f32", "f64", "slice", "scalar", "i64", "u8", "bool", "empty.f32", "empty.i64",
                                        "empty.u8", "empty.bool", "odd \"name\"\\ é\n"])
            let kinds = Dictionary(uniqueKeysWithValues: file.entries.map { ($0.name, $0.dtype) })
            #expect(kinds["f32"] == .float32 && kinds["f64"] == .float64 && kinds["i64"] == .int64
                    && kinds["u8"] == .uint8 && kinds["bool"] == .bool)
            let f32Back = try file.tensor("f32")
            #expect(f32Back.dtype == .float32 && f32Back.shape == [2, 3] && f32Back.floats == f32.floats)
            let f64Back = try file.tensor("f64")
            #expect(f64Back.dtype == .float64 && f64Back.doubles == f64.doubles)
            #expect(f64Back.doubles[1].sign == .minus, "−0 keeps its sign")
            #expect(try file.tensor("slice").doubles == slice.doubles)
            #expect(try file.tensor("scalar").shape == [] && (try file.tensor("scalar").item) == 7)
            #expect(try file.integers("i64") == ints)
            #expect(try file.entry("i64").shape == [2, 3])
            #expect(try file.integers("u8") == (0...255).map { $0 })
            #expect(try file.integers("bool") == [1, 0, 0, 1, 1])
            #expect(try file.tensor("empty.f32").shape == [0, 4])
            #expect(try file.integers("empty.i64") == [] && (try file.integers("empty.u8")) == [] && (try file.integers("empty.bool")) == [])
            #expect(try file.tensor("odd \"name\"\\ é\n").floats == [1])
            #expect(try file.floatTensors().keys.sorted() == ["empty.f32", "f32", "f64", "odd \"name\"\\ é\n", "scalar", "slice"])
            // Writing what was read gives the same bytes (the writer is deterministic).
            let again = dir + "/again.safetensors"
            try SafetensorsWriter.write(file.floatTensors().mapValues { .tensor($0) }.merging([
                "i64": .int64(ints, shape: [2, 3]), "u8": .uint8(bytes, shape: [16, 16]), "bool": .bool(flags, shape: [5]),
                "empty.i64": .int64([], shape: [0]), "empty.u8": .uint8([], shape: [3, 0]), "empty.bool": .bool([], shape: [0]),
            ]) { a, _ in a }, metadata: metadata, to: again)
            #expect(try Data(contentsOf: URL(fileURLWithPath: again)) == Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }

    @Test func readErrorsForWrongKindAndMissingNames() throws {
        try Self.withTemporaryDirectory { dir in
            let path = dir + "/kinds.safetensors"
            try SafetensorsWriter.write([
                "ids": .int64([1, 2], shape: [2]),
                "whole": .tensor(Tensor(shape: [3], scalars: [1, -2, 3e9] as [Double])),
                "fraction": .tensor(Tensor(shape: [2], scalars: [1, 2.5] as [Float])),
                "nan": .tensor(Tensor(shape: [1], scalars: [Float.nan])),
                "huge": .tensor(Tensor(shape: [1], scalars: [1e300])),
            ], to: path)
            let file = try SafetensorsFile(path: path)
            #expect(try file.integers("whole") == [1, -2, 3_000_000_000])
            for name in ["fraction", "nan", "huge"] {
                #expect(throws: SafetensorsError.self, "\(name)") { try file.integers(name) }
            }
            #expect(throws: SafetensorsError.wrongKind(path: path, name: "ids", detail: "I64 is not a float dtype; read it with integers(_:)")) {
                try file.tensor("ids")
            }
            #expect(throws: SafetensorsError.missingTensor(path: path, name: "nope")) { try file.tensor("nope") }
            #expect(throws: SafetensorsError.missingTensor(path: path, name: "nope")) { try file.integers("nope") }
        }
    }

    @Test func writerRejectsInconsistentValuesWithoutCreatingAFile() throws {
        try Self.withTemporaryDirectory { (dir: String) throws in
            let path = dir + "/bad.safetensors"
            let bad: [[String: SafetensorsValue]] = [
                ["x": .int64([1, 2, 3], shape: [2])],
                ["x": .uint8([1], shape: [-1])],
                ["x": .bool([], shape: [Int.max, 4])],
                ["__metadata__": .tensor(Tensor.ones([1]))],
                ["": .tensor(Tensor.ones([1]))],
            ]
            for values in bad {
                #expect(throws: SafetensorsError.self, "\(values.keys)") { try SafetensorsWriter.write(values, to: path) }
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
            #expect(throws: SafetensorsError.self) {
                try SafetensorsWriter.write(tensors: ["x": Tensor.ones([1])], to: dir + "/missing/dir/x.safetensors")
            }
        }
    }

    @Test func headerIsPaddedToEightBytes() throws {
        try Self.withTemporaryDirectory { dir in
            for length in 1...17 {
                let path = dir + "/pad\(length).safetensors"
                let name = String(repeating: "w", count: length)
                try SafetensorsWriter.write(["b": .uint8([1, 2, 3], shape: [3]), name: .tensor(Tensor.ones([2]))],
                                            metadata: length.isMultiple(of: 2) ? ["k": "v"] : [:], to: path)
                let n = try Self.headerLength(path)
                #expect((8 + n) % 8 == 0, "name length \(length): header \(n) bytes")
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                let header = Array(data[8..<(8 + n)])
                let close = try #require(header.lastIndex(of: UInt8(ascii: "}")))
                #expect(header.first == UInt8(ascii: "{"))
                #expect(header[(close + 1)...].allSatisfy { $0 == UInt8(ascii: " ") } && header.count - close - 1 < 8,
                        "padding is fewer than 8 spaces")
                #expect(data.count == 8 + n + 3 + 8, "data section holds exactly the tensors")
                let file = try SafetensorsFile(path: path)
                #expect(try file.integers("b") == [1, 2, 3] && (try file.tensor(name).floats) == [1, 1])
            }
        }
    }

    @Test func writeIsAtomicRename() throws {
        try Self.withTemporaryDirectory { dir in
            let path = dir + "/model.safetensors"
            try SafetensorsWriter.write(tensors: ["w": Tensor.full([4], value: 1)], to: path)
            let before = try SafetensorsFile(path: path)
            let inodeBefore = try #require(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int)
            try SafetensorsWriter.write(tensors: ["w": Tensor.full([4], value: 2), "extra": Tensor.ones([1000])], to: path)
            let inodeAfter = try #require(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int)
            // A new file replaced the old one: the reader opened before still sees the old tensor in full.
            #expect(inodeBefore != inodeAfter)
            #expect(try before.tensor("w").floats == [1, 1, 1, 1])
            #expect(try SafetensorsFile(path: path).tensor("w").floats == [2, 2, 2, 2])
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["model.safetensors"], "no temporary files left")

            // A failing rename (the target is a non-empty directory) cleans up its temporary file.
            let blocked = dir + "/blocked"
            try FileManager.default.createDirectory(atPath: blocked + "/inner", withIntermediateDirectories: true)
            #expect(throws: SafetensorsError.self) { try SafetensorsWriter.write(tensors: ["w": Tensor.ones([1])], to: blocked) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["blocked", "model.safetensors"])

            // Concurrent writers to one path never interleave: the result is one complete file.
            let errors = ErrorBox()
            DispatchQueue.concurrentPerform(iterations: 8) { i in
                do {
                    try SafetensorsWriter.write(tensors: ["w": Tensor.full([4096], value: Double(i))], to: path)
                } catch { errors.append("\(error)") }
            }
            #expect(errors.values.isEmpty, "\(errors.values)")
            let values = try SafetensorsFile(path: path).tensor("w").floats
            #expect(Set(values).count == 1 && values.count == 4096)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["blocked", "model.safetensors"])
        }
    }

    /// Reading (and writing) a 50 MB tensor costs one 50 MB buffer: the peak resident size grows by
    /// well under the 100 MB that a read into a temporary followed by a copy would need.
    @Test func largeTensorIsReadWithoutASecondCopy() throws {
        let count = 50 * 1024 * 1024 / 4
        try Self.withTemporaryDirectory { dir in
            let path = dir + "/big.safetensors"
            var scalars = [Float](repeating: 0, count: count)
            for i in stride(from: 0, to: count, by: 4099) { scalars[i] = Float(i) }
            scalars[count - 1] = -1
            do {
                let big = Tensor(shape: [count / 1024, 1024], scalars: scalars)
                scalars = []
                let growth = try PeakMemory.growth {
                    try SafetensorsWriter.write(["small": .uint8([1, 2, 3], shape: [3]), "big": .tensor(big)], to: path)
                }
                #expect(growth < 30 << 20, "writing 50 MB raised the peak RSS by \(growth >> 20) MB")
            }
            let file = try SafetensorsFile(path: path)
            var loaded: Tensor?
            let growth = try PeakMemory.growth { loaded = try file.tensor("big") }
            #expect(growth < 70 << 20, "reading 50 MB raised the peak RSS by \(growth >> 20) MB")
            let tensor = try #require(loaded)
            #expect(tensor.shape == [count / 1024, 1024])
            tensor.withScalars(Float.self) { buffer in
                var ok = buffer[count - 1] == -1
                for i in stride(from: 0, to: count - 1, by: 4099) where buffer[i] != Float(i) { ok = false }
                for i in stride(from: 1, to: count - 1, by: 4099) where buffer[i] != 0 { ok = false }
                #expect(ok, "big tensor contents")
            }
        }
    }
}

/// Peak resident memory of this process (Linux `/proc/self/status`).
enum PeakMemory {
    static func field(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let digits = line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first
            return digits.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }

    /// How much the peak RSS rose while `body` ran. When the kernel lets us reset the peak
    /// (`/proc/self/clear_refs` ← 5) it is measured from the current RSS; otherwise from the old
    /// peak, which can only under-estimate.
    static func growth(_ body: () throws -> Void) throws -> Int {
        var reset = false
        if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            reset = (try? handle.write(contentsOf: Data("5".utf8))) != nil
            try? handle.close()
        }
        let start = (reset ? field("VmRSS") : field("VmHWM")) ?? 0
        try body()
        return Swift.max(0, (field("VmHWM") ?? 0) - start)
    }
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ item: String) { lock.withLock { items.append(item) } }
    var values: [String] { lock.withLock { items } }
}
