/// An in-memory text classification set: fixed-length token ids, attention masks and labels.
///
/// Texts are encoded once, when the set is built, with the vocabulary that travels with the model;
/// batches only copy rows. Ids and masks are stored row-major `N × sequenceLength`.
public struct TextDataset: LabeledDataset {
    public let name: String
    public let sequenceLength: Int
    /// `N · sequenceLength` token ids.
    public let tokenIDs: [Int32]
    /// `N · sequenceLength` entries, 1 for real tokens and 0 for padding.
    public let attentionMask: [UInt8]
    public let labels: [Int]
    public let classNames: [String]
    public let vocabulary: Vocabulary

    /// Encodes `samples` with `vocabulary` to `sequenceLength` tokens each (see ``Vocabulary/encode(_:length:)``).
    public init(name: String, samples: TextSamples, vocabulary: Vocabulary, sequenceLength: Int,
                classNames: [String]) throws {
        guard sequenceLength >= 2 && sequenceLength <= 4096 else {
            throw DataError.invalidConfiguration("\(name): sequence length \(sequenceLength) must be in 2...4096")
        }
        guard samples.count > 0 else { throw DataError.empty(file: name) }
        for (index, label) in samples.labels.enumerated() where label < 0 || label >= classNames.count {
            throw DataError.labelOutOfRange(file: name, sample: index, label: label, classCount: classNames.count)
        }
        var ids: [Int32] = []
        var mask: [UInt8] = []
        ids.reserveCapacity(samples.count * sequenceLength)
        mask.reserveCapacity(samples.count * sequenceLength)
        for text in samples.texts {
            let encoded = vocabulary.encode(text, length: sequenceLength)
            ids += encoded.ids
            mask += encoded.attentionMask
        }
        self.init(unchecked: name, sequenceLength: sequenceLength, tokenIDs: ids, attentionMask: mask,
                  labels: samples.labels, classNames: classNames, vocabulary: vocabulary)
    }

    private init(unchecked name: String, sequenceLength: Int, tokenIDs: [Int32], attentionMask: [UInt8],
                 labels: [Int], classNames: [String], vocabulary: Vocabulary) {
        self.name = name
        self.sequenceLength = sequenceLength
        self.tokenIDs = tokenIDs
        self.attentionMask = attentionMask
        self.labels = labels
        self.classNames = classNames
        self.vocabulary = vocabulary
    }

    public var count: Int { labels.count }
    /// `[L]`.
    public var sampleShape: [Int] { [sequenceLength] }

    /// The token ids of sample `index`.
    public func ids(of index: Int) -> ArraySlice<Int32> {
        tokenIDs[index * sequenceLength..<(index + 1) * sequenceLength]
    }

    public func subset(_ indices: [Int]) -> TextDataset {
        checkIndices(indices, "subset")
        var ids: [Int32] = [], mask: [UInt8] = []
        ids.reserveCapacity(indices.count * sequenceLength)
        mask.reserveCapacity(indices.count * sequenceLength)
        for index in indices {
            let range = index * sequenceLength..<(index + 1) * sequenceLength
            ids += tokenIDs[range]
            mask += attentionMask[range]
        }
        return TextDataset(unchecked: name, sequenceLength: sequenceLength, tokenIDs: ids, attentionMask: mask,
                           labels: indices.map { labels[$0] }, classNames: classNames, vocabulary: vocabulary)
    }

    /// Token ids `[B, L]` (as Float32, exact below 2^24), the mask `[B, L]`, the ids as `[Int]`.
    /// Text has no augmentation; `augmentation` is ignored.
    public func makeBatch(indices: [Int], augmentation: AugmentationContext?) -> Batch {
        checkIndices(indices, "makeBatch")
        let length = sequenceLength
        var inputs = Tensor.zeros([indices.count, length])
        var mask = Tensor.zeros([indices.count, length])
        var integers = [Int](repeating: 0, count: indices.count * length)
        tokenIDs.withUnsafeBufferPointer { ids in
            attentionMask.withUnsafeBufferPointer { valid in
                inputs.withMutableScalars(Float.self) { x in
                    mask.withMutableScalars(Float.self) { m in
                        integers.withUnsafeMutableBufferPointer { out in
                            for (row, index) in indices.enumerated() {
                                let from = index * length, to = row * length
                                for j in 0..<length {
                                    let id = ids[from + j]
                                    x[to + j] = Float(id)
                                    out[to + j] = Int(id)
                                    m[to + j] = Float(valid[from + j])
                                }
                            }
                        }
                    }
                }
            }
        }
        return Batch(inputs: inputs, labels: indices.map { labels[$0] }, attentionMask: mask,
                     tokenIDs: integers, sampleIndices: indices)
    }
}
