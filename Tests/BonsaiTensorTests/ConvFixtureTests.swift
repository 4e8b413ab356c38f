import Testing
import BonsaiTensor

/// conv2d against the PyTorch golden files and against finite differences (Float64).
@Suite struct ConvFixtureTests {
    @Test(arguments: 0..<6)
    func conv2dMatchesPyTorch(index: Int) throws {
        let f = try Fixture("conv2d_\(index)")
        let stride = try #require(f.metaInt("stride")), padding = try #require(f.metaInt("padding"))
        let groups = try #require(f.metaInt("groups"))
        let x = try f("input").requiringGrad(), w = try f("weight").requiringGrad()
        let b = f.file.names.contains("bias") ? try f("bias").requiringGrad() : nil
        let y = conv2d(x, weight: w, bias: b, stride: stride, padding: padding, groups: groups)
        let name = "conv2d_\(index)"
        expectClose(y, try f("output"), "\(name) output")
        let grads = gradients(of: (y * (try f("grad_output"))).sum(), withRespectTo: [x, w] + (b.map { [$0] } ?? []))
        expectClose(grads[0], try f("grad_input"), "\(name) grad_input")
        expectClose(grads[1], try f("grad_weight"), "\(name) grad_weight")
        if b != nil { expectClose(grads[2], try f("grad_bias"), "\(name) grad_bias") }
        #expect((b != nil) == f.file.names.contains("grad_bias"), "\(name): bias and grad_bias presence differ")
    }

    @Test func gradientsStride2PaddingBias() {
        let x = randomTensor([2, 3, 7, 6], seed: 11), w = randomTensor([4, 3, 3, 3], seed: 12)
        let b = randomTensor([4], seed: 13)
        expectGradientsMatch([x, w, b], "conv stride 2 pad 1 bias") { t in
            conv2d(t[0], weight: t[1], bias: t[2], stride: 2, padding: 1)
        }
    }

    @Test func gradientsGroupsAnisotropic() {
        // Two groups, a 3×2 kernel, stride (2, 1), padding (1, 0).
        let geometry = Conv2dGeometry(strideH: 2, strideW: 1, padH: 1, padW: 0, groups: 2)
        let x = randomTensor([2, 4, 6, 5], seed: 21), w = randomTensor([6, 2, 3, 2], seed: 22)
        let b = randomTensor([6], seed: 23)
        expectGradientsMatch([x, w, b], "conv groups 2 anisotropic") { t in
            conv2d(t[0], weight: t[1], bias: t[2], geometry: geometry)
        }
    }

    @Test func gradientsDepthwiseWithMultiplier() {
        let x = randomTensor([2, 3, 5, 6], seed: 31), w = randomTensor([6, 1, 3, 3], seed: 32)
        let b = randomTensor([6], seed: 33)
        expectGradientsMatch([x, w, b], "depthwise ×2 stride 2 pad 1") { t in
            conv2d(t[0], weight: t[1], bias: t[2], stride: 2, padding: 1, groups: 3)
        }
        expectGradientsMatch([x, w], "depthwise ×2 stride 1 pad 2") { t in
            conv2d(t[0], weight: t[1], stride: 1, padding: 2, groups: 3)
        }
    }

    @Test func gradientsPointwise() {
        let x = randomTensor([2, 3, 4, 5], seed: 41), w = randomTensor([5, 3, 1, 1], seed: 42)
        let b = randomTensor([5], seed: 43)
        expectGradientsMatch([x, w, b], "1×1 stride 1") { t in conv2d(t[0], weight: t[1], bias: t[2]) }
        expectGradientsMatch([x, w], "1×1 stride 2") { t in conv2d(t[0], weight: t[1], stride: 2) }
        let wg = randomTensor([4, 1, 1, 1], seed: 44)
        expectGradientsMatch([randomTensor([2, 4, 3, 3], seed: 45), wg], "1×1 depthwise") { t in
            conv2d(t[0], weight: t[1], groups: 4)
        }
    }

    @Test func gradientsTiledSmallPlanes() {
        // Six images of 4×4: the GEMM path packs several images into one tile.
        let x = randomTensor([6, 2, 4, 4], seed: 51), w = randomTensor([3, 2, 3, 3], seed: 52)
        let b = randomTensor([3], seed: 53)
        expectGradientsMatch([x, w, b], "tiled 3×3 pad 1") { t in conv2d(t[0], weight: t[1], bias: t[2], padding: 1) }
        expectGradientsMatch([x, randomTensor([4, 1, 3, 3], seed: 54)], "tiled groups 2 stride 2") { t in
            conv2d(t[0], weight: t[1], stride: 2, padding: 1, groups: 2)
        }
    }

    @Test func weightGradientWithoutInputGradient() {
        // A first layer: the input needs no gradient, so that product is skipped.
        let x = randomTensor([3, 2, 5, 5], seed: 61), w = randomTensor([4, 2, 3, 3], seed: 62)
        let b = randomTensor([4], seed: 63)
        expectGradientsMatch([x, w, b], differentiable: [false, true, true], "weight and bias only") { t in
            conv2d(t[0], weight: t[1], bias: t[2], stride: 2, padding: 1)
        }
        expectGradientsMatch([x, w], differentiable: [true, false], "input only") { t in
            conv2d(t[0], weight: t[1], padding: 1)
        }
    }

    @Test func outputOfOnePixel() {
        // Kernel as large as the input: a single output pixel, plain dot products.
        let x = randomTensor([2, 2, 3, 3], seed: 71), w = randomTensor([3, 2, 3, 3], seed: 72)
        expectGradientsMatch([x, w], "kernel = input size") { t in conv2d(t[0], weight: t[1]) }
        let y = conv2d(x, weight: w)
        #expect(y.shape == [2, 3, 1, 1])
        var expected = 0.0
        let xs = x.doubles, ws = w.doubles
        for i in 0..<18 { expected += xs[i] * ws[i] }
        #expect(abs(y[0, 0, 0, 0] - expected) < 1e-12, "one-pixel conv \(y[0, 0, 0, 0]) vs dot product \(expected)")
    }
}
