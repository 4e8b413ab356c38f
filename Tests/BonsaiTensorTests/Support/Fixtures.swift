import Foundation
import Testing
import BonsaiTensor

/// Golden values exported from PyTorch (copied from ../shared/fixtures; see Fixtures/manifest.json).
struct Fixture {
    let file: SafetensorsFile

    init(_ name: String) throws {
        guard let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures") else {
            throw SafetensorsError.io(path: name, detail: "fixture not found in the test bundle")
        }
        file = try SafetensorsFile(path: url.path)
    }

    func callAsFunction(_ name: String) throws -> Tensor { try file.tensor(name) }
    func integers(_ name: String) throws -> [Int] { try file.integers(name) }
    func meta(_ key: String) -> String? { file.metadata[key] }
    func metaInt(_ key: String) -> Int? { file.metadata[key].flatMap { Int($0) } }
    func metaDouble(_ key: String) -> Double? { file.metadata[key].flatMap { Double($0) } }
}

/// Relative error of `actual` against `expected`: max |a − e| / max(max |e|, 1e-12).
func relativeError(_ actual: Tensor, _ expected: Tensor) -> Double {
    let a = actual.doubles, e = expected.doubles
    guard a.count == e.count else { return .infinity }
    var diff = 0.0, scale = 1e-12
    for i in 0..<a.count {
        diff = max(diff, abs(a[i] - e[i]))
        scale = max(scale, abs(e[i]))
    }
    return diff / scale
}

/// Expects `actual` to match `expected` in shape and within `tolerance` relative error, naming the
/// tensor and the error when it does not.
func expectClose(_ actual: Tensor?, _ expected: Tensor, _ name: String, tolerance: Double = 1e-4,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard let actual else {
        Issue.record("\(name): no tensor computed", sourceLocation: sourceLocation)
        return
    }
    #expect(actual.shape == expected.shape, "\(name): shape \(actual.shape) vs expected \(expected.shape)",
            sourceLocation: sourceLocation)
    let error = relativeError(actual, expected)
    #expect(error <= tolerance, "\(name): relative error \(error) exceeds \(tolerance)", sourceLocation: sourceLocation)
}

/// Expects a finite-difference gradient check to pass.
func expectGradientsMatch(_ inputs: [Tensor], tolerance: Double = 1e-6, step: Double = 1e-6,
                          differentiable: [Bool]? = nil, _ label: String,
                          sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor) {
    let report = GradientCheck.check(inputs, step: step, differentiable: differentiable, f)
    #expect(report.maxError <= tolerance, "\(label): \(report)", sourceLocation: sourceLocation)
}

/// A seeded random tensor for tests.
func randomTensor(_ shape: [Int], seed: UInt64, dtype: DType = .float64, scale: Double = 1) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return Tensor.normal(shape, std: scale, dtype: dtype, using: &rng)
}
