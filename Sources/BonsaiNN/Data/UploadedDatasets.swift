/// Image sets from files other than the built-in ones (user uploads): the same validating
/// readers, with the class names and pixel range given by the caller.
extension ImageDataset {
    /// An image set from an IDX image file `[N, rows, cols]` and an IDX label file `[N]` (each
    /// gzip'd or not). Throws when counts differ, a label is out of range or a pixel exceeds
    /// `pixelMax`. `normalization` nil leaves images at `pixel / pixelMax`; use
    /// ``Normalization/measure(_:)`` on the training set to compute constants.
    public static func loadIDX(name: String, images imagesPath: String, labels labelsPath: String,
                               classNames: [String], pixelMax: UInt8 = 255, normalization: Normalization? = nil,
                               limits: DataLimits = .standard) throws -> ImageDataset {
        let images = try IDXFormat.parse(DataFile.read(imagesPath, limits: limits), file: imagesPath, expectedRank: 3, limits: limits)
        let labelArray = try IDXFormat.parse(DataFile.read(labelsPath, limits: limits), file: labelsPath, expectedRank: 1, limits: limits)
        return try fromIDX(name: name, images: images, labels: labelArray, labelsFile: labelsPath,
                           classNames: classNames, pixelMax: pixelMax, normalization: normalization)
    }

    /// An image set from parsed IDX arrays (see ``loadIDX(name:images:labels:classNames:pixelMax:normalization:limits:)``).
    public static func fromIDX(name: String, images: IDXArray, labels labelArray: IDXArray, labelsFile: String,
                               classNames: [String], pixelMax: UInt8 = 255,
                               normalization: Normalization? = nil) throws -> ImageDataset {
        guard images.dims.count == 3 else {
            throw DataError.badMagic(file: name, reason: "image IDX has rank \(images.dims.count), expected 3")
        }
        let labels = try IDXLabels.labels(labelArray, file: labelsFile, classCount: classNames.count)
        guard labels.count == images.count else {
            throw DataError.sizeMismatch(file: labelsFile, reason: "\(labels.count) labels for \(images.count) images")
        }
        return try ImageDataset(name: name, pixels: images.data, count: images.count, channels: 1,
                                height: images.dims[1], width: images.dims[2], pixelMax: pixelMax, labels: labels,
                                classNames: classNames, normalization: normalization)
    }

    /// An image set from CIFAR-10 binary record files (gzip'd or not), concatenated in order.
    public static func loadCIFAR(name: String, paths: [String], classNames: [String],
                                 normalization: Normalization? = nil, limits: DataLimits = .standard) throws -> ImageDataset {
        let records = try CIFARFormat.load(paths, classCount: classNames.count, limits: limits)
        guard records.count > 0 else { throw DataError.empty(file: paths.first ?? name) }
        return try ImageDataset(name: name, pixels: records.pixels, count: records.count,
                                channels: CIFARFormat.channels, height: CIFARFormat.height, width: CIFARFormat.width,
                                pixelMax: 255, labels: records.labels, classNames: classNames, normalization: normalization)
    }
}
