/// One mini-batch: model inputs and the labels to predict.
public struct Batch: Sendable {
    /// Images `[B, C, H, W]` (normalised, augmented) or token ids `[B, L]` as Float32.
    public var inputs: Tensor
    public var labels: [Int]
    /// Text only: `[B, L]`, 1 for real tokens and 0 for padding.
    public var attentionMask: Tensor?
    /// Text only: the token ids of `inputs` as integers, row-major `B · L` (for embedding lookups).
    public var tokenIDs: [Int]?
    /// Index of each sample in its data set.
    public var sampleIndices: [Int]
    /// Where this batch sits in the loader's stream (set by ``DataLoader``).
    public var position: DataPosition?

    public var count: Int { labels.count }

    public init(inputs: Tensor, labels: [Int], attentionMask: Tensor? = nil, tokenIDs: [Int]? = nil,
                sampleIndices: [Int], position: DataPosition? = nil) {
        self.inputs = inputs
        self.labels = labels
        self.attentionMask = attentionMask
        self.tokenIDs = tokenIDs
        self.sampleIndices = sampleIndices
        self.position = position
    }
}

/// A labelled, in-memory data set that can assemble batches of its samples.
///
/// ``ImageDataset`` and ``TextDataset`` are the two kinds. A ``DataLoader`` decides the order and
/// calls ``makeBatch(indices:augmentation:)``; the data set knows its layout and does the copying
/// (and, for images, the augmentation and normalisation) in one pass.
public protocol LabeledDataset: Sendable {
    var name: String { get }
    var count: Int { get }
    var labels: [Int] { get }
    var classNames: [String] { get }
    /// The shape of one sample: `[C, H, W]` or `[L]`.
    var sampleShape: [Int] { get }
    /// The samples at `indices`, in that order, as a new data set.
    func subset(_ indices: [Int]) -> Self
    /// A batch of the samples at `indices` (each in `0..<count`). `augmentation` is ignored by data
    /// sets that have none.
    func makeBatch(indices: [Int], augmentation: AugmentationContext?) -> Batch
}

extension LabeledDataset {
    public var classCount: Int { classNames.count }

    /// How many samples each class has, indexed by label.
    public var labelCounts: [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for label in labels { counts[label] += 1 }
        return counts
    }

    /// A batch of all samples in order, without augmentation (for evaluation of small sets).
    public func allSamples() -> Batch { makeBatch(indices: Array(0..<count), augmentation: nil) }

    func checkIndices(_ indices: [Int], _ function: String) {
        for index in indices {
            precondition(index >= 0 && index < count, "\(name).\(function): sample index \(index) outside 0..<\(count)")
        }
    }
}

/// Per-channel normalisation `x̂ = (x − mean[c]) / std[c]`, applied when batches are made.
///
/// `x` is the pixel scaled to [0, 1] (`pixel / 255`, or `/ 16` for the 8×8 digits). The built-in
/// constants are the mean and the population standard deviation of `x` over all pixels of each
/// channel of the data set's *training* file (before a validation split is carved):
/// `mean_c = Σ x / (N·H·W)`, `std_c = sqrt(Σ (x − mean_c)² / (N·H·W))`.
public struct Normalization: Sendable, Equatable, Codable {
    public var mean: [Double]
    public var std: [Double]

    public init(mean: [Double], std: [Double]) {
        precondition(mean.count == std.count && std.allSatisfy { $0 > 0 }, "Normalization: mean \(mean) / std \(std) invalid")
        self.mean = mean
        self.std = std
    }

    /// The mean and population standard deviation of each channel of `images` `[N, C, H, W]`
    /// (accumulated in Float64), i.e. the formula above.
    public static func measure(_ images: Tensor) -> Normalization {
        precondition(images.rank == 4 && images.dtype == .float32, "Normalization.measure: need Float32 [N, C, H, W], got \(images.dtype) \(images.shape)")
        let (n, c, plane) = (images.shape[0], images.shape[1], images.shape[2] * images.shape[3])
        var sums = [Double](repeating: 0, count: c), squares = [Double](repeating: 0, count: c)
        images.withScalars(Float.self) { x in
            for sample in 0..<n {
                for channel in 0..<c {
                    let base = (sample * c + channel) * plane
                    var s = 0.0, q = 0.0
                    for i in 0..<plane {
                        let v = Double(x[base + i])
                        s += v
                        q += v * v
                    }
                    sums[channel] += s
                    squares[channel] += q
                }
            }
        }
        let total = Double(n * plane)
        let mean = sums.map { $0 / total }
        let std = (0..<c).map { ((squares[$0] / total) - mean[$0] * mean[$0]).squareRoot() }
        return Normalization(mean: mean, std: std.map { Swift.max($0, 1e-12) })
    }
}
