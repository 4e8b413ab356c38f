/// An in-memory image classification set: Float32 images `[N, C, H, W]` in [0, 1] and labels.
///
/// Images are stored un-normalised (`pixel / pixelMax`); ``normalization`` is applied, together
/// with any augmentation, when a batch is assembled, so one copy serves training (augmented) and
/// evaluation (plain) loaders alike.
public struct ImageDataset: LabeledDataset {
    public let name: String
    /// `[N, C, H, W]`, Float32, values in [0, 1].
    public let images: Tensor
    public let labels: [Int]
    public let classNames: [String]
    public var normalization: Normalization?

    /// A data set from an image tensor; validates shapes, labels and normalisation.
    public init(name: String, images: Tensor, labels: [Int], classNames: [String],
                normalization: Normalization? = nil) throws {
        guard images.rank == 4, images.dtype == .float32 else {
            throw DataError.sizeMismatch(file: name, reason: "images must be Float32 [N, C, H, W], got \(images.dtype) \(images.shape)")
        }
        guard images.shape[1] > 0, images.shape[2] > 0, images.shape[3] > 0 else {
            throw DataError.sizeMismatch(file: name, reason: "image shape \(images.shape) has an empty axis")
        }
        guard images.shape[0] == labels.count else {
            throw DataError.sizeMismatch(file: name, reason: "\(images.shape[0]) images but \(labels.count) labels")
        }
        guard classNames.count >= 1 else { throw DataError.invalidConfiguration("\(name): no class names") }
        for (index, label) in labels.enumerated() where label < 0 || label >= classNames.count {
            throw DataError.labelOutOfRange(file: name, sample: index, label: label, classCount: classNames.count)
        }
        if let normalization {
            guard normalization.mean.count == images.shape[1] else {
                throw DataError.invalidConfiguration("\(name): normalisation has \(normalization.mean.count) channels, images \(images.shape[1])")
            }
        }
        self.name = name
        self.images = images
        self.labels = labels
        self.classNames = classNames
        self.normalization = normalization
    }

    /// A data set from raw bytes `count · channels · height · width` (CHW per image), scaled by
    /// `1 / pixelMax` into [0, 1]. Throws for a byte above `pixelMax` (e.g. a digits value > 16).
    public init(name: String, pixels: [UInt8], count: Int, channels: Int, height: Int, width: Int,
                pixelMax: UInt8, labels: [Int], classNames: [String], normalization: Normalization? = nil) throws {
        let shape = [count, channels, height, width]
        let product = shape.reduce((1, false)) { acc, size in
            let next = acc.0.multipliedReportingOverflow(by: size)
            return (next.partialValue, acc.1 || next.overflow)
        }
        guard count >= 0, channels > 0, height > 0, width > 0, !product.1, pixels.count == product.0 else {
            throw DataError.sizeMismatch(file: name, reason: "\(pixels.count) pixel bytes for images \(shape)")
        }
        guard count > 0 else { throw DataError.empty(file: name) }
        guard pixelMax > 0 else { throw DataError.invalidConfiguration("\(name): pixelMax must be positive") }
        var images = Tensor.zeros(shape)
        // Exact `value / pixelMax` for every possible byte, looked up per pixel.
        let table = (0...255).map { Float($0) / Float(pixelMax) }
        var maxSeen: UInt8 = 0
        pixels.withUnsafeBufferPointer { source in
            images.withMutableScalars(Float.self) { target in
                table.withUnsafeBufferPointer { lookup in
                    let (s, d, t) = (source.baseAddress!, target.baseAddress!, lookup.baseAddress!)
                    for i in 0..<source.count {
                        let value = s[i]
                        if value > maxSeen { maxSeen = value }
                        d[i] = t[Int(value)]
                    }
                }
            }
        }
        let firstBad = maxSeen > pixelMax ? pixels.firstIndex { $0 > pixelMax } : nil
        if let firstBad {
            let perImage = channels * height * width
            throw DataError.sizeMismatch(file: name, reason: "image \(firstBad / perImage) has pixel value \(pixels[firstBad]) above \(pixelMax)")
        }
        try self.init(name: name, images: images, labels: labels, classNames: classNames, normalization: normalization)
    }

    public var count: Int { labels.count }
    /// `[C, H, W]`.
    public var sampleShape: [Int] { Array(images.shape.dropFirst()) }

    public func subset(_ indices: [Int]) -> ImageDataset {
        checkIndices(indices, "subset")
        // Unchecked re-initialisation: the parts were validated when `self` was built.
        return ImageDataset(unchecked: name, images: images.indexSelect(axis: 0, indices: indices),
                            labels: indices.map { labels[$0] }, classNames: classNames, normalization: normalization)
    }

    private init(unchecked name: String, images: Tensor, labels: [Int], classNames: [String], normalization: Normalization?) {
        self.name = name
        self.images = images
        self.labels = labels
        self.classNames = classNames
        self.normalization = normalization
    }

    /// Copies the samples at `indices` into one `[B, C, H, W]` tensor, augmenting each sample with
    /// its own seeded transform and normalising, in a single pass over raw buffers.
    public func makeBatch(indices: [Int], augmentation: AugmentationContext?) -> Batch {
        checkIndices(indices, "makeBatch")
        let (c, h, w) = (images.shape[1], images.shape[2], images.shape[3])
        let perImage = c * h * w
        var output = Tensor.zeros([indices.count, c, h, w])
        let mean = (normalization?.mean ?? Array(repeating: 0, count: c)).map { Float($0) }
        let invStd = (normalization?.std ?? Array(repeating: 1, count: c)).map { Float(1 / $0) }
        let active = augmentation.flatMap { $0.augmentation.isIdentity ? nil : $0 }
        if !indices.isEmpty {
            images.withScalars(Float.self) { source in
                output.withMutableScalars(Float.self) { target in
                    mean.withUnsafeBufferPointer { m in
                        invStd.withUnsafeBufferPointer { s in
                            for (row, index) in indices.enumerated() {
                                let transform = active?.transform(sample: index) ?? .identity
                                ImageKernel.copy(from: source.baseAddress! + index * perImage,
                                                 to: target.baseAddress! + row * perImage,
                                                 channels: c, height: h, width: w, transform: transform,
                                                 mean: m.baseAddress!, invStd: s.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        return Batch(inputs: output, labels: indices.map { labels[$0] }, sampleIndices: indices)
    }

    /// All images normalised, `[N, C, H, W]` (for evaluating a whole small set at once).
    public func normalizedImages() -> Tensor { allSamples().inputs }
}
