import Foundation
import Testing
import BonsaiNN

/// A PyTorch golden file from `Tests/BonsaiNNTests/Fixtures` (found next to this source file, so no
/// copy into a resource bundle is needed).
struct TestFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    let file: SafetensorsFile

    init(_ name: String) throws {
        file = try SafetensorsFile(path: Self.directory.appendingPathComponent(name + ".safetensors").path)
    }

    func callAsFunction(_ name: String) throws -> Tensor { try file.tensor(name) }
    func integers(_ name: String) throws -> [Int] { try file.integers(name) }
    func meta(_ key: String) -> String? { file.metadata[key] }
}

/// Expects `actual` to match `expected` within `tolerance` relative error (max |a − e| / max |e|),
/// naming the tensor and the error when it does not.
func expectClose(_ actual: Tensor?, _ expected: Tensor, _ name: String, tolerance: Double = 1e-4,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual else {
        Issue.record("\(name): no tensor computed", sourceLocation: sourceLocation)
        return
    }
    #expect(actual.shape == expected.shape, "\(name): shape \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
    let a = actual.doubles, e = expected.doubles
    guard a.count == e.count else { return }
    var diff = 0.0, scale = 1e-12
    for i in 0..<a.count { diff = max(diff, abs(a[i] - e[i])); scale = max(scale, abs(e[i])) }
    #expect(diff / scale <= tolerance, "\(name): relative error \(diff / scale) exceeds \(tolerance)", sourceLocation: sourceLocation)
}
