import Foundation
import Testing
import BonsaiPruning

/// METHODS.md §5.6 (1) / §18 item 5: the stripe-wise execution (`1×1` GEMM per stride phase plus
/// shift-and-add) equals the masked dense convolution, for stride 1, 2 and 3, padding 0–2, odd
/// and even sizes, K = 1, 3, 5, with and without bias, Float32 and Float64.
@Suite struct StripeWiseConvTests {
    struct Geometry: Sendable, CustomStringConvertible {
        var batch = 2, channels = 8, filters = 5, kernel = 3, height = 9, width = 9, stride = 1, padding = 1
        var description: String { "B\(batch) C\(channels) N\(filters) K\(kernel) \(height)×\(width) s\(stride) p\(padding)" }
    }

    static let geometries: [Geometry] = [
        Geometry(), Geometry(height: 10, width: 10), Geometry(stride: 2), Geometry(height: 10, width: 10, stride: 2),
        Geometry(height: 7, width: 11, stride: 2, padding: 0), Geometry(height: 8, width: 5, stride: 3, padding: 2),
        Geometry(batch: 1, channels: 3, filters: 7, kernel: 5, height: 11, width: 9, stride: 2, padding: 2),
        Geometry(batch: 3, channels: 1, filters: 2, kernel: 1, height: 6, width: 7, stride: 2, padding: 0),
        Geometry(channels: 5, filters: 4, kernel: 3, height: 3, width: 3, stride: 1, padding: 1),
        Geometry(channels: 4, filters: 3, kernel: 3, height: 4, width: 6, stride: 2, padding: 1),
    ]

    /// A random weight, a random stripe mask (about half the stripes), and the masked weight.
    static func problem(_ g: Geometry, seed: UInt64, dtype: DType = .float32, bias: Bool = false)
        -> (x: Tensor, weight: Tensor, stripes: Tensor, masked: Tensor, bias: Tensor?) {
        var rng = RandomGenerator(seed: seed)
        let x = Tensor.normal([g.batch, g.channels, g.height, g.width], using: &rng).cast(to: dtype)
        let weight = Tensor.normal([g.filters, g.channels, g.kernel, g.kernel], using: &rng).cast(to: dtype)
        let keep = Tensor.uniform([g.filters * g.kernel * g.kernel], low: 0, high: 1, using: &rng).doubles.map { $0 < 0.5 }
        let stripes = Tensor(shape: [g.filters, g.kernel, g.kernel], scalars: keep.map { $0 ? Float(1) : 0 })
        let skeleton = FilterSkeleton(path: "w", weight: Parameter(weight, role: .convWeight))
        let masked = Engine.withoutGrad { weight * skeleton.weightMask(keep).cast(to: dtype) }
        let b = bias ? Tensor.normal([g.filters], using: &rng).cast(to: dtype) : nil
        return (x, weight, stripes, masked, b)
    }

    static func maxRelativeError(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.shape == b.shape, "shapes \(a.shape) and \(b.shape)")
        let (x, y) = (a.doubles, b.doubles)
        let scale = Swift.max(y.map { Swift.abs($0) }.max() ?? 0, 1)
        return zip(x, y).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) } / scale
    }

    @Test(arguments: geometries)
    func equalsMaskedDenseConv(_ g: Geometry) {
        for (seed, withBias) in [(UInt64(1), false), (2, true)] {
            let p = Self.problem(g, seed: seed, bias: withBias)
            let stripe = StripeConv(weight: p.weight, stripes: p.stripes, bias: p.bias, stride: g.stride, padding: g.padding)
            let expected = Engine.withoutGrad { conv2d(p.x, weight: p.masked, bias: p.bias, stride: g.stride, padding: g.padding) }
            let actual = stripe(p.x)
            #expect(actual.shape == expected.shape, "\(g): shape \(actual.shape), expected \(expected.shape)")
            let error = Self.maxRelativeError(actual, expected)
            #expect(error <= 1e-5, "\(g) bias \(withBias): stripe-wise output differs from the masked conv by \(error)")
            #expect(stripe.stripeCount == p.stripes.doubles.filter { $0 != 0 }.count)
        }
    }

    @Test(arguments: geometries)
    func equalsMaskedDenseConvInFloat64(_ g: Geometry) {
        let p = Self.problem(g, seed: 3, dtype: .float64, bias: true)
        let stripe = StripeConv(weight: p.weight, stripes: p.stripes, bias: p.bias, stride: g.stride, padding: g.padding)
        let expected = Engine.withoutGrad { conv2d(p.x, weight: p.masked, bias: p.bias, stride: g.stride, padding: g.padding) }
        let error = Self.maxRelativeError(stripe(p.x), expected)
        #expect(error <= 1e-12, "\(g): Float64 stripe-wise output differs by \(error)")
    }

    /// Without an explicit stripe mask, the stripes are the non-zero ones of the (masked) weight.
    @Test func stripesInferredFromZeros() {
        let g = Geometry(height: 10, width: 10, stride: 2)
        let p = Self.problem(g, seed: 4)
        let inferred = StripeConv(weight: p.masked, stride: 2, padding: 1)
        #expect(inferred.stripeCount == p.stripes.doubles.filter { $0 != 0 }.count)
        let expected = Engine.withoutGrad { conv2d(p.x, weight: p.masked, stride: 2, padding: 1) }
        #expect(Self.maxRelativeError(inferred(p.x), expected) <= 1e-5)
        #expect(inferred.macs(height: 10, width: 10).stripe == inferred.stripeCount * g.channels * 25)
    }

    /// Edge cases: every stripe kept (the dense conv), none kept (only the bias), and the packing
    /// order of stride 1 is the reference's: kernel position, then filter.
    @Test func allAndNoStripes() {
        let g = Geometry()
        let p = Self.problem(g, seed: 5, bias: true)
        let all = StripeConv(weight: p.weight, stripes: .ones([g.filters, 3, 3]), bias: p.bias, stride: 1, padding: 1)
        #expect(all.stripeCount == g.filters * 9)
        #expect(all.rowPosition == (0..<9).flatMap { pos in [Int](repeating: pos, count: g.filters) })
        #expect(all.rowFilter == (0..<9).flatMap { _ in Array(0..<g.filters) })
        let dense = Engine.withoutGrad { conv2d(p.x, weight: p.weight, bias: p.bias, stride: 1, padding: 1) }
        #expect(Self.maxRelativeError(all(p.x), dense) <= 1e-5)
        let none = StripeConv(weight: p.weight, stripes: .zeros([g.filters, 3, 3]), bias: p.bias, stride: 1, padding: 1)
        #expect(none.stripeCount == 0)
        let out = none(p.x).doubles, b = p.bias!.doubles
        for (i, v) in out.enumerated() { #expect(v == b[(i / 81) % g.filters]) }
    }
}
