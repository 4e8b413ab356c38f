/// Training-time image augmentation: random crop with zero padding, then random horizontal flip
/// (torchvision's `RandomCrop(size, padding)` + `RandomHorizontalFlip()`).
///
/// The crop pads the image with `padding` zero pixels on every side (zero in pixel space, so after
/// normalisation padding reads `−mean/std`, as in torchvision) and cuts an `H × W` window at offset
/// `(dy, dx) ∈ [0, 2·padding]²`; equivalently it shifts the image by `(dy − padding, dx − padding)`.
/// The flip mirrors the crop left–right with probability ½.
///
/// The random choices of sample `i` in epoch `e` come from `SeedMix.hash(seed, e, i)` only, so
/// they do not depend on batch size, batch order or which other samples share a batch: a resumed
/// run sees exactly the augmented images an uninterrupted run would have seen.
public struct ImageAugmentation: Sendable, Equatable, Codable {
    /// Zero padding for the random crop; 0 disables cropping (e.g. 4 for CIFAR-10).
    public var padding: Int
    public var horizontalFlip: Bool

    public init(padding: Int = 0, horizontalFlip: Bool = false) {
        self.padding = padding
        self.horizontalFlip = horizontalFlip
    }

    /// The usual CIFAR-10 recipe: pad 4, random crop 32, random flip.
    public static let cifar = ImageAugmentation(padding: 4, horizontalFlip: true)

    public var isIdentity: Bool { padding == 0 && !horizontalFlip }

    public func validate() throws {
        guard padding >= 0 && padding <= 64 else {
            throw DataError.invalidConfiguration("augmentation padding \(padding) must be in 0...64")
        }
    }

    /// The shift `(y, x)` and flip for one sample: source pixel of output `(y, x)` is
    /// `(y + shiftY, x' + shiftX)` with `x' = flip ? W−1−x : x`.
    public func parameters(seed: UInt64, epoch: Int, sample: Int) -> SampleTransform {
        let bits = SeedMix.hash3(seed, UInt64(truncatingIfNeeded: epoch), UInt64(truncatingIfNeeded: sample))
        let span = UInt64(2 * padding + 1)
        // Three independent fields of one 64-bit hash: 24 bits each for the offsets, 1 for the flip.
        let dy = padding == 0 ? 0 : Int(((bits & 0xFF_FFFF) * span) >> 24)
        let dx = padding == 0 ? 0 : Int((((bits >> 24) & 0xFF_FFFF) * span) >> 24)
        let flip = horizontalFlip && (bits >> 63) == 1
        return SampleTransform(shiftY: dy - padding, shiftX: dx - padding, flip: flip)
    }
}

/// The augmentation of one sample (see ``ImageAugmentation/parameters(seed:epoch:sample:)``).
public struct SampleTransform: Sendable, Equatable {
    public var shiftY: Int
    public var shiftX: Int
    public var flip: Bool

    public init(shiftY: Int = 0, shiftX: Int = 0, flip: Bool = false) {
        self.shiftY = shiftY
        self.shiftX = shiftX
        self.flip = flip
    }

    public static let identity = SampleTransform()
}

/// What a data set needs to augment the samples of one batch.
public struct AugmentationContext: Sendable, Equatable {
    public var augmentation: ImageAugmentation
    public var seed: UInt64
    public var epoch: Int

    public init(augmentation: ImageAugmentation, seed: UInt64, epoch: Int) {
        self.augmentation = augmentation
        self.seed = seed
        self.epoch = epoch
    }

    public func transform(sample: Int) -> SampleTransform {
        augmentation.parameters(seed: seed, epoch: epoch, sample: sample)
    }
}

/// The copy kernel behind image batches: shift (with zero fill), optional mirror, normalisation.
enum ImageKernel {
    /// Writes one `C × H × W` image: `dst[c, y, x] = (src[c, y + sy, x' + sx] − mean[c]) · invStd[c]`,
    /// with out-of-range source pixels read as 0 and `x' = flip ? W−1−x : x`.
    @inline(__always)
    static func copy(from src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>,
                     channels: Int, height: Int, width: Int, transform: SampleTransform,
                     mean: UnsafePointer<Float>, invStd: UnsafePointer<Float>) {
        let plane = height * width
        if transform == .identity {
            for c in 0..<channels {
                let m = mean[c], s = invStd[c]
                let from = src + c * plane, to = dst + c * plane
                for i in 0..<plane { to[i] = (from[i] - m) * s }
            }
            return
        }
        let sy = transform.shiftY, sx = transform.shiftX
        for c in 0..<channels {
            let m = mean[c], s = invStd[c]
            let fill = -m * s
            for y in 0..<height {
                let to = dst + c * plane + y * width
                let sourceY = y + sy
                guard sourceY >= 0 && sourceY < height else {
                    for x in 0..<width { to[x] = fill }
                    continue
                }
                let row = src + c * plane + sourceY * width
                if transform.flip {
                    for x in 0..<width {
                        let sourceX = width - 1 - x + sx
                        to[x] = sourceX >= 0 && sourceX < width ? (row[sourceX] - m) * s : fill
                    }
                } else {
                    let start = Swift.min(width, Swift.max(0, -sx)), end = Swift.max(start, Swift.min(width, width - sx))
                    for x in 0..<start { to[x] = fill }
                    for x in start..<end { to[x] = (row[x + sx] - m) * s }
                    for x in end..<width { to[x] = fill }
                }
            }
        }
    }
}

extension Tensor {
    /// Images `[N, C, H, W]` (Float32) transformed sample by sample with the batch kernel and no
    /// normalisation; for tests and previews of augmentation.
    public func transformedImages(_ transforms: [SampleTransform]) -> Tensor {
        precondition(rank == 4 && dtype == .float32 && transforms.count == shape[0],
                     "transformedImages: need Float32 [N, C, H, W] and one transform per image, got \(dtype) \(shape), \(transforms.count) transforms")
        let (c, h, w) = (shape[1], shape[2], shape[3])
        var output = Tensor.zeros(shape)
        guard count > 0 else { return output }
        let zero = [Float](repeating: 0, count: c), one = [Float](repeating: 1, count: c)
        withScalars(Float.self) { source in
            output.withMutableScalars(Float.self) { target in
                for (index, transform) in transforms.enumerated() {
                    ImageKernel.copy(from: source.baseAddress! + index * c * h * w, to: target.baseAddress! + index * c * h * w,
                                     channels: c, height: h, width: w, transform: transform, mean: zero, invStd: one)
                }
            }
        }
        return output
    }

    /// Images `[N, C, H, W]` mirrored left–right.
    public func flippedHorizontally() -> Tensor {
        transformedImages(Array(repeating: SampleTransform(flip: true), count: shape.first ?? 0))
    }
}
