/// The training examples data-dependent pruning-at-initialisation scorers look at.
///
/// Both samplers walk the training set in the loader's epoch-0 order (seeded by the job's seed)
/// and build batches without augmentation, so the same seed always scores on the same examples.
public enum PruneData {
    /// The first `count` examples in batches of `batchSize` (SynFlow's framework: a prune set of
    /// `10 × #classes` examples in batches of 256, METHODS.md §4.3).
    public static func firstExamples(_ loader: DataLoader, count: Int, batchSize: Int) throws -> [LabeledBatch] {
        guard count >= 1 else { throw PruningError.invalidSetting(field: "samples", detail: "must be at least 1") }
        let order = loader.order(epoch: 0)
        let indices = Array(order.prefix(count))
        return stride(from: 0, to: indices.count, by: Swift.max(batchSize, 1)).map { start in
            let slice = Array(indices[start..<Swift.min(start + batchSize, indices.count)])
            return loader.dataset.makeBatch(indices: slice, augmentation: nil).labeled
        }
    }

    /// GraSP's class-balanced sample (`GraSP_fetch_data`, METHODS.md §3.2): the first
    /// `perClass` examples of every class in loader order, concatenated class by class (class 0
    /// first), then split into the two halves `[0, N/2)` and `[N/2, N)` that GraSP forwards
    /// separately. Throws when a class has fewer than `perClass` examples (the reference would
    /// loop forever).
    public static func classBalancedHalves(_ loader: DataLoader, classes: Int, perClass: Int) throws -> [LabeledBatch] {
        var byClass = [[Int]](repeating: [], count: classes)
        var full = 0
        for index in loader.order(epoch: 0) {
            let label = loader.dataset.labels[index]
            guard label >= 0, label < classes, byClass[label].count < perClass else { continue }
            byClass[label].append(index)
            if byClass[label].count == perClass { full += 1 }
            if full == classes { break }
        }
        if let short = byClass.firstIndex(where: { $0.count < perClass }) {
            throw PruningError.invalidSetting(field: "samples_per_class",
                                              detail: "class \(short) has only \(byClass[short].count) training examples, \(perClass) needed")
        }
        let indices = byClass.flatMap { $0 }
        let half = indices.count / 2
        return [Array(indices[..<half]), Array(indices[half...])].filter { !$0.isEmpty }.map {
            loader.dataset.makeBatch(indices: $0, augmentation: nil).labeled
        }
    }
}
