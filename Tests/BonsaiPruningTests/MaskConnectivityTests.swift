import Testing
import BonsaiPruning

@Suite struct MaskConnectivityTests {
    static func mask(_ shape: [Int], _ values: [Float]) -> Tensor { Tensor(shape: shape, scalars: values) }

    @Test func linearChainIsConnectedOnlyThroughKeptPaths() {
        // 3 → 2 → 2: input reaches hidden 0 only; hidden 1 feeds output 1 only.
        let a = Self.mask([2, 3], [1, 0, 0, 0, 0, 0])
        let connected = MaskSet(["a": a, "b": Self.mask([2, 2], [1, 0, 0, 0])])
        let broken = MaskSet(["a": a, "b": Self.mask([2, 2], [0, 0, 0, 1])])
        #expect(MaskConnectivity.reachableOutputs(connected, layers: ["a", "b"]) == 1)
        #expect(MaskConnectivity.isConnected(connected, layers: ["a", "b"]))
        #expect(MaskConnectivity.reachableOutputs(broken, layers: ["a", "b"]) == 0)
        #expect(MaskConnectivity.emptyLayers(broken, layers: ["a", "b"]).isEmpty, "non-empty yet disconnected")
        #expect(MaskConnectivity.keptCounts(broken, layers: ["a", "b"]) == [1, 1])
    }

    @Test func emptyLayerIsReported() {
        let masks = MaskSet(["a": Self.mask([1, 2], [1, 1]), "b": Self.mask([2, 1], [0, 0])])
        #expect(MaskConnectivity.emptyLayers(masks, layers: ["a", "b"]) == ["b"])
        #expect(!MaskConnectivity.isConnected(masks, layers: ["a", "b"]))
    }

    @Test func convChannelsSumOverKernelAndFlattenIntoALinearLayer() {
        // conv [2 out, 1 in, 2×2]: channel 1 keeps one kernel tap; channel 0 is empty.
        let conv = Self.mask([2, 1, 2, 2], [0, 0, 0, 0, 0, 0, 1, 0])
        // A flatten of 2 channels × 3 positions feeds a linear layer with fan-in 6.
        let toChannel1 = Self.mask([1, 6], [0, 0, 0, 0, 1, 0])
        let toChannel0 = Self.mask([1, 6], [1, 1, 1, 0, 0, 0])
        #expect(MaskConnectivity.isConnected(MaskSet(["c": conv, "f": toChannel1]), layers: ["c", "f"]))
        #expect(!MaskConnectivity.isConnected(MaskSet(["c": conv, "f": toChannel0]), layers: ["c", "f"]))
        // Widths that do not chain.
        #expect(MaskConnectivity.reachableOutputs(MaskSet(["c": conv, "f": Self.mask([1, 5], [1, 1, 1, 1, 1])]), layers: ["c", "f"]) == nil)
    }
}
