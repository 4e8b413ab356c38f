import Testing
import BonsaiPruning

@Suite struct TopKTests {
    @Test func globalSelectionIsExactWithTiesBrokenByPosition() {
        let scores = ScoreSet([("a", [1, 1, 1, 1]), ("b", [1, 0.5, 2, 1])])
        let masks = TopK.select(scores, sparsity: 0.5, scope: .global)
        // 8 entries, 4 pruned: 0.5 first, then the ties of 1 in position order (a0, a1, a2).
        #expect(masks["a"]!.floats == [0, 0, 0, 1])
        #expect(masks["b"]!.floats == [1, 0, 1, 1])
        #expect(masks.counts == (8, 4))
    }

    @Test func layerwiseSelectionPrunesEachTensorToTheTarget() {
        let scores = ScoreSet([("a", [4, 3, 2, 1]), ("b", [1, 2, 3, 4, 5, 6])])
        let masks = TopK.select(scores, sparsity: 0.5, scope: .layerwise)
        #expect(masks["a"]!.floats == [1, 1, 0, 0])
        #expect(masks["b"]!.floats == [0, 0, 0, 1, 1, 1])
    }

    @Test func prunedEntriesAreNeverRevived() {
        let current = MaskSet(["a": Tensor(shape: [4], scalars: [Float(0), 1, 1, 1])])
        // Entry 0 has the highest score but is already pruned: it stays pruned.
        let masks = TopK.select(ScoreSet([("a", [9, 1, 2, 3])]), sparsity: 0.5, scope: .global, current: current)
        #expect(masks["a"]!.floats == [0, 0, 1, 1])
        #expect(masks.isMonotone(after: current))
    }

    @Test func nanScoresRankLowest() {
        let masks = TopK.select(ScoreSet([("a", [.nan, 1, 2, 3])]), sparsity: 0.25, scope: .global)
        #expect(masks["a"]!.floats == [0, 1, 1, 1])
    }

    @Test func cubicScheduleMatchesZhuAndGupta() {
        let s = { (t: Int) in SparsitySchedule.polynomial(step: t, begin: 100, end: 300, initial: 0.1, final: 0.9) }
        #expect(abs(s(100) - 0.1) < 1e-15)
        #expect(abs(s(0) - 0.1) < 1e-15)
        #expect(abs(s(300) - 0.9) < 1e-15)
        #expect(abs(s(200) - (0.9 - 0.8 / 8)) < 1e-15)
        #expect((100...300).allSatisfy { s($0) <= s($0 + 1) })
        #expect(SparsitySchedule.isUpdateStep(200, begin: 100, end: 300, frequency: 50))
        #expect(!SparsitySchedule.isUpdateStep(210, begin: 100, end: 300, frequency: 50))
        #expect(!SparsitySchedule.isUpdateStep(350, begin: 100, end: 300, frequency: 50))
    }

    @Test func maskPackingRoundTrips() throws {
        let mask = Tensor(shape: [3, 5], scalars: (0..<15).map { Float(($0 * 7) % 3 == 0 ? 1 : 0) })
        let bytes = MaskEncoding.pack(mask)
        #expect(bytes.count == 2)
        #expect(try MaskEncoding.unpack(bytes, shape: [3, 5]).floats == mask.floats)
        #expect(throws: PruningError.self) { try MaskEncoding.unpack(bytes, shape: [4, 5]) }
    }
}
