import Foundation
import Testing
@testable import BonsaiNN

private typealias Support = DataTestSupport

/// A small valid IDX image file: 3 images of 2×4.
private func sampleIDX(count: Int = 3, rows: Int = 2, cols: Int = 4, offset: Int = 0) -> IDXArray {
    IDXArray(dims: [count, rows, cols], data: (0..<(count * rows * cols)).map { UInt8(($0 + offset) % 256) })
}

private func isTruncated(_ e: DataError) -> Bool { if case .truncated = e { true } else { false } }
private func isBadMagic(_ e: DataError) -> Bool { if case .badMagic = e { true } else { false } }
private func isSizeMismatch(_ e: DataError) -> Bool { if case .sizeMismatch = e { true } else { false } }
private func isTooLarge(_ e: DataError) -> Bool { if case .tooLarge = e { true } else { false } }
private func isLabelRange(_ e: DataError) -> Bool { if case .labelOutOfRange = e { true } else { false } }
private func isDecompression(_ e: DataError) -> Bool { if case .decompression = e { true } else { false } }

@Suite struct DataIDXTests {
    @Test func encodeParseRoundTrip() throws {
        let array = sampleIDX()
        let bytes = IDXFormat.encode(array)
        #expect(Array(bytes.prefix(4)) == [0, 0, 8, 3])
        #expect(try IDXFormat.parse(bytes, file: "x", expectedRank: 3) == array)
    }

    @Test func gzipRoundTripAndUncompressedAccepted() throws {
        let plain = IDXFormat.encode(sampleIDX())
        let packed = try Gzip.compress(plain)
        #expect(Gzip.isGzip(packed) && !Gzip.isGzip(plain))
        #expect(try Gzip.decompressIfNeeded(packed, file: "x") == plain)
        #expect(try Gzip.decompressIfNeeded(plain, file: "x") == plain)
        // Two members in a row decompress to the concatenation, as with gunzip.
        #expect(try Gzip.decompressIfNeeded(packed + packed, file: "x") == plain + plain)
    }

    @Test func malformedGzipThrows() throws {
        let packed = try Gzip.compress(IDXFormat.encode(sampleIDX(count: 50)))
        Support.expectDataError("truncated gzip", isDecompression) {
            _ = try Gzip.decompressIfNeeded(Array(packed.prefix(packed.count / 2)), file: "t.gz")
        }
        var corrupt = packed
        corrupt[packed.count - 6] ^= 0xFF  // CRC-32 trailer
        Support.expectDataError("bad crc", isDecompression) { _ = try Gzip.decompressIfNeeded(corrupt, file: "c.gz") }
        Support.expectDataError("trailing garbage", isDecompression) {
            _ = try Gzip.decompressIfNeeded(packed + [1, 2, 3], file: "g.gz")
        }
        Support.expectDataError("header only", isDecompression) {
            _ = try Gzip.decompressIfNeeded([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3], file: "h.gz")
        }
    }

    @Test func gzipBombStopsAtTheLimit() throws {
        let bomb = try Gzip.compress([UInt8](repeating: 0, count: 4 << 20), level: 9)
        #expect(bomb.count < 20_000)
        let limits = DataLimits(maxDecompressedBytes: 1 << 20)
        Support.expectDataError("bomb", isTooLarge) { _ = try Gzip.decompressIfNeeded(bomb, file: "bomb.gz", limits: limits) }
        #expect(try Gzip.decompressIfNeeded(bomb, file: "ok.gz").count == 4 << 20)
    }

    @Test func badMagicAndTypeAndRank() {
        var bytes = IDXFormat.encode(sampleIDX())
        bytes[0] = 1
        Support.expectDataError("magic", isBadMagic) { _ = try IDXFormat.parse(bytes, file: "m") }
        bytes = IDXFormat.encode(sampleIDX())
        bytes[2] = 0x0D  // float type
        Support.expectDataError("type", isBadMagic) { _ = try IDXFormat.parse(bytes, file: "t") }
        Support.expectDataError("rank", isBadMagic) {
            _ = try IDXFormat.parse(IDXFormat.encode(sampleIDX()), file: "r", expectedRank: 1)
        }
        Support.expectDataError("PNG bytes", isBadMagic) {
            _ = try IDXFormat.parse([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], file: "p.png")
        }
    }

    @Test func truncatedAndMismatchedSizes() {
        let bytes = IDXFormat.encode(sampleIDX())
        Support.expectDataError("3 bytes", isTruncated) { _ = try IDXFormat.parse([0, 0, 8], file: "a") }
        Support.expectDataError("cut header", isTruncated) { _ = try IDXFormat.parse(Array(bytes.prefix(10)), file: "b") }
        Support.expectDataError("cut payload", isTruncated) { _ = try IDXFormat.parse(Array(bytes.dropLast()), file: "c") }
        Support.expectDataError("extra bytes", isSizeMismatch) { _ = try IDXFormat.parse(bytes + [7], file: "d") }
        var zeroRows = bytes
        zeroRows[11] = 0  // rows = 0
        Support.expectDataError("zero dim", isSizeMismatch) { _ = try IDXFormat.parse(zeroRows, file: "e") }
    }

    @Test func hugeDeclaredDimsThrowWithoutAllocating() {
        // 0xFFFFFFFF³ overflows Int; 60000×60000×60000 fits but is far above the element limit.
        let overflow: [UInt8] = [0, 0, 8, 3] + Array(repeating: 0xFF, count: 12) + [1, 2, 3]
        Support.expectDataError("overflow", isTooLarge) { _ = try IDXFormat.parse(overflow, file: "o") }
        let big: [UInt8] = [0, 0, 8, 3, 0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60, 9]
        Support.expectDataError("huge", isTooLarge) { _ = try IDXFormat.parse(big, file: "h") }
        // Within the limits but promising more data than present: truncated, not an allocation.
        let promise: [UInt8] = [0, 0, 8, 1, 0x01, 0, 0, 0, 5]
        Support.expectDataError("promise", isTruncated) { _ = try IDXFormat.parse(promise, file: "p") }
    }

    @Test func labelsOutOfRange() throws {
        let array = IDXArray(dims: [4], data: [0, 9, 3, 10])
        Support.expectDataError("label 10", isLabelRange) { _ = try IDXLabels.labels(array, file: "l", classCount: 10) }
        #expect(try IDXLabels.labels(IDXArray(dims: [3], data: [0, 9, 3]), file: "l", classCount: 10) == [0, 9, 3])
        do {
            _ = try IDXLabels.labels(array, file: "labels.idx", classCount: 10)
        } catch let error as DataError {
            #expect(error == .labelOutOfRange(file: "labels.idx", sample: 3, label: 10, classCount: 10))
            #expect(error.description.contains("labels.idx"))
        }
    }

    @Test func multiPartEqualsSingleConcatenation() throws {
        let folder = try Support.temporaryFolder()
        defer { Support.cleanUp(folder) }
        let parts = [sampleIDX(count: 3, offset: 0), sampleIDX(count: 5, offset: 24), sampleIDX(count: 2, offset: 64)]
        for (index, part) in parts.enumerated() {
            let bytes = IDXFormat.encode(part)
            // Mix compressed and uncompressed parts: both are accepted.
            if index == 1 {
                try Support.write(bytes, to: folder + "/imgs-01")
            } else {
                try Support.write(try Gzip.compress(bytes), to: folder + "/imgs-0\(index).gz")
            }
        }
        let loaded = try IDXFormat.load(directory: folder, baseName: "imgs", expectedRank: 3)
        let whole = IDXArray(dims: [10, 2, 4], data: parts.flatMap(\.data))
        #expect(loaded == whole)
        // A single file of the whole is read the same way, and preferred over parts.
        try Support.write(try Gzip.compress(IDXFormat.encode(whole)), to: folder + "/whole.gz")
        #expect(try IDXFormat.load(directory: folder, baseName: "whole", expectedRank: 3) == whole)
    }

    @Test func multiPartErrors() throws {
        let folder = try Support.temporaryFolder()
        defer { Support.cleanUp(folder) }
        try Support.write(IDXFormat.encode(sampleIDX()), to: folder + "/gap-00")
        try Support.write(IDXFormat.encode(sampleIDX()), to: folder + "/gap-02")
        Support.expectDataError("gap", { if case .unreadable = $0 { true } else { false } }) {
            _ = try IDXFormat.load(directory: folder, baseName: "gap", expectedRank: 3)
        }
        try Support.write(IDXFormat.encode(sampleIDX(rows: 2, cols: 4)), to: folder + "/mix-00")
        try Support.write(IDXFormat.encode(sampleIDX(rows: 4, cols: 2)), to: folder + "/mix-01")
        Support.expectDataError("dims differ", isSizeMismatch) {
            _ = try IDXFormat.load(directory: folder, baseName: "mix", expectedRank: 3)
        }
        Support.expectDataError("missing", { if case .unreadable = $0 { true } else { false } }) {
            _ = try IDXFormat.load(directory: folder, baseName: "nothing", expectedRank: 3)
        }
    }
}

@Suite struct DataCIFARTests {
    private func record(label: UInt8, fill: UInt8) -> [UInt8] {
        [label] + [UInt8](repeating: fill, count: 1024) + [UInt8](repeating: fill &+ 1, count: 1024) + [UInt8](repeating: fill &+ 2, count: 1024)
    }

    @Test func parsesRecordsCHW() throws {
        let bytes = record(label: 3, fill: 10) + record(label: 9, fill: 200)
        let records = try CIFARFormat.parse(try Gzip.decompressIfNeeded(try Gzip.compress(bytes), file: "c"), file: "c")
        #expect(records.labels == [3, 9])
        #expect(records.pixels.count == 2 * 3072)
        #expect(records.pixels[0] == 10 && records.pixels[1024] == 11 && records.pixels[2048] == 12)
        #expect(records.pixels[3072] == 200 && records.pixels[3072 + 2047] == 201)
    }

    @Test func malformedRecordsThrow() {
        let good = record(label: 1, fill: 0)
        Support.expectDataError("empty", { $0 == .empty(file: "e") }) { _ = try CIFARFormat.parse([], file: "e") }
        Support.expectDataError("short", isTruncated) { _ = try CIFARFormat.parse(good + Array(good.prefix(100)), file: "s") }
        Support.expectDataError("label", isLabelRange) { _ = try CIFARFormat.parse(good + record(label: 10, fill: 0), file: "l") }
        Support.expectDataError("missing file", { if case .unreadable = $0 { true } else { false } }) {
            _ = try CIFARFormat.load("/nonexistent/batch.bin")
        }
    }
}

@Suite struct DataUploadTests {
    @Test func idxPairFromFiles() throws {
        let folder = try Support.temporaryFolder()
        defer { Support.cleanUp(folder) }
        let images = sampleIDX(count: 3, rows: 2, cols: 4)
        try Support.write(try Gzip.compress(IDXFormat.encode(images)), to: folder + "/img.gz")
        try Support.write(IDXFormat.encode(IDXArray(dims: [3], data: [2, 0, 1])), to: folder + "/lbl")
        let data = try ImageDataset.loadIDX(name: "up", images: folder + "/img.gz", labels: folder + "/lbl", classNames: ["a", "b", "c"])
        #expect(data.images.shape == [3, 1, 2, 4] && data.labels == [2, 0, 1])
        #expect(data.images.floats[1] == Float(1) / 255)

        try Support.write(IDXFormat.encode(IDXArray(dims: [2], data: [0, 1])), to: folder + "/short")
        Support.expectDataError("count mismatch", isSizeMismatch) {
            _ = try ImageDataset.loadIDX(name: "up", images: folder + "/img.gz", labels: folder + "/short", classNames: ["a", "b", "c"])
        }
        Support.expectDataError("labels given as images", isBadMagic) {
            _ = try ImageDataset.loadIDX(name: "up", images: folder + "/lbl", labels: folder + "/lbl", classNames: ["a", "b", "c"])
        }
        Support.expectDataError("pixel above max", isSizeMismatch) {
            _ = try ImageDataset.loadIDX(name: "up", images: folder + "/img.gz", labels: folder + "/lbl",
                                         classNames: ["a", "b", "c"], pixelMax: 16)
        }
        Support.expectDataError("label beyond classes", isLabelRange) {
            _ = try ImageDataset.loadIDX(name: "up", images: folder + "/img.gz", labels: folder + "/lbl", classNames: ["a", "b"])
        }
        Support.expectDataError("file limit", isTooLarge) {
            _ = try ImageDataset.loadIDX(name: "up", images: folder + "/img.gz", labels: folder + "/lbl",
                                         classNames: ["a", "b", "c"], limits: DataLimits(maxFileBytes: 10))
        }
    }

    @Test func cifarFromFiles() throws {
        let folder = try Support.temporaryFolder()
        defer { Support.cleanUp(folder) }
        let record: [UInt8] = [7] + (0..<3072).map { UInt8($0 % 251) }
        try Support.write(try Gzip.compress(record + record), to: folder + "/a.bin.gz")
        try Support.write(record, to: folder + "/b.bin")
        let data = try ImageDataset.loadCIFAR(name: "c", paths: [folder + "/a.bin.gz", folder + "/b.bin"],
                                              classNames: (0..<10).map { "\($0)" })
        #expect(data.count == 3 && data.labels == [7, 7, 7] && data.images.shape == [3, 3, 32, 32])
        #expect(Float(data.images[2, 1, 0, 0]) == Float(1024 % 251) / 255)
    }
}
