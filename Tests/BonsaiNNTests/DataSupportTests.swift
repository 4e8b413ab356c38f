import Foundation
import Testing
@testable import BonsaiNN

/// Paths and helpers shared by the data tests.
enum DataTestSupport {
    /// The repository's `data/` folder, found from this file's path (no copy as a test resource).
    static let dataPath: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data").path

    static func directory() throws -> DataDirectory { try DataDirectory(path: dataPath) }

    /// A fresh temporary folder, removed by the caller with `cleanUp`.
    static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "bonsai-data-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func cleanUp(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Runs `body`, expecting a `DataError` that satisfies `matches`; records an issue otherwise.
    static func expectDataError(_ label: String, _ matches: (DataError) -> Bool,
                                sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(label): no error thrown", sourceLocation: sourceLocation)
        } catch let error as DataError {
            #expect(matches(error), "\(label): unexpected error \(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(label): not a DataError: \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Label counts of a data set.
    static func histogram(_ labels: [Int], classes: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for label in labels { counts[label] += 1 }
        return counts
    }

    /// Small seeded images `[n, c, h, w]` with values in [0, 1) and labels `i % classes`.
    static func syntheticImages(count: Int, channels: Int, height: Int, width: Int, classes: Int = 3,
                                seed: UInt64 = 1) throws -> ImageDataset {
        var generator = RandomGenerator(seed: seed)
        let scalars = (0..<(count * channels * height * width)).map { _ in Float(generator.nextUnit()) }
        return try ImageDataset(name: "synthetic", images: Tensor(shape: [count, channels, height, width], scalars: scalars),
                                labels: (0..<count).map { $0 % classes }, classNames: (0..<classes).map { "c\($0)" })
    }
}

@Suite struct DataDirectoryTests {
    @Test func explicitPathIsUsed() throws {
        let directory = try DataDirectory.locate(explicit: DataTestSupport.dataPath, environment: [:])
        #expect(directory.path == DataTestSupport.dataPath)
        #expect(FileManager.default.fileExists(atPath: directory.file("README.md")))
    }

    @Test func environmentVariableIsUsed() throws {
        let directory = try DataDirectory.locate(environment: [DataDirectory.environmentVariable: DataTestSupport.dataPath])
        #expect(directory.path == DataTestSupport.dataPath)
    }

    @Test func searchFromExecutableFindsTheRepositoryData() throws {
        // The test binary lives in .build/… inside the repository, so the upward search finds data/.
        let directory = try DataDirectory.locate(environment: [:])
        #expect(FileManager.default.fileExists(atPath: directory.file("SHA256SUMS")))
        #expect(FileManager.default.fileExists(atPath: directory.file("mnist")))
    }

    @Test func missingDirectoryThrows() {
        DataTestSupport.expectDataError("missing", { if case .dataDirectoryNotFound = $0 { true } else { false } }) {
            _ = try DataDirectory.locate(explicit: "/nonexistent/bonsai-data", environment: [:])
        }
    }
}
