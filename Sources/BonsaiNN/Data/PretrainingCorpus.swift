/// Unlabelled sentences for masked-language-model pre-training, gathered from the training parts
/// of the shipped text sets.
///
/// Only training parts are read — SST-2's `train.tsv`, TREC's `train.tsv` and the SMS Spam
/// Collection's fixed 80 % training part — never a test part or SST-2's `dev.tsv`, so pre-training
/// never sees a sentence a fine-tuned model is scored on. (A validation part carved from a
/// training part later *is* in the corpus, unlabelled; it is used for model selection only.)
///
/// Why a corpus at all: movement pruning's claim (METHODS.md §14) is about *transfer* — a
/// pre-trained model whose weights carry knowledge the fine-tuning task did not teach. The three
/// shipped corpora give 16,832 sentences (SST-2 6,920 + TREC 5,452 + SMS 4,460), 2.4× SST-2's
/// alone. The vocabulary for such a run must be built from the corpus, not from the task's
/// training split, so that the fine-tuning task and the pre-training share token ids.
public struct PretrainingCorpus: Sendable {
    /// Sentence count per source set, in the order read.
    public let sources: [Source]
    public let texts: [String]

    public struct Source: Sendable, Equatable {
        public let name: String
        public let sentences: Int
    }

    /// The names of every shipped text set (`sst2`, `trec`, `sms-spam`).
    public static var shippedNames: [String] { BuiltinDatasets.all.filter { $0.kind == .text }.map(\.name) }

    /// The training-part texts of `names` (default: every shipped text set), concatenated in order.
    public static func shipped(_ names: [String] = shippedNames, from directory: DataDirectory? = nil,
                               limits: DataLimits = .standard) throws -> PretrainingCorpus {
        guard !names.isEmpty else { throw DataError.invalidConfiguration("a pre-training corpus needs at least one text set") }
        let directory = try directory ?? DataDirectory.locate()
        var options = DatasetOptions()
        options.limits = limits
        var texts: [String] = [], sources: [Source] = []
        for name in names {
            let info = try BuiltinDatasets.info(named: name)
            guard info.kind == .text else { throw DataError.invalidConfiguration("'\(name)' is an image data set, not a text corpus") }
            let train = try DatasetRegistry.rawTextSplits(info, from: directory, options: options).train
            texts += train.texts
            sources.append(Source(name: name, sentences: train.count))
        }
        return PretrainingCorpus(sources: sources, texts: texts)
    }

    public var count: Int { texts.count }

    /// A vocabulary built from the whole corpus (``Vocabulary/build(from:options:)``).
    public func vocabulary(options: VocabularyOptions = VocabularyOptions()) throws -> Vocabulary {
        try Vocabulary.build(from: texts, options: options)
    }

    /// The corpus encoded with `vocabulary` to `sequenceLength` tokens, as a one-class labelled set
    /// (every label 0) so the ordinary data loader can batch it; the masked-LM loss ignores labels.
    public func encoded(with vocabulary: Vocabulary, sequenceLength: Int) throws -> TextDataset {
        try TextDataset(name: "pretraining-corpus", samples: TextSamples(texts: texts, labels: [Int](repeating: 0, count: texts.count)),
                        vocabulary: vocabulary, sequenceLength: sequenceLength, classNames: ["sentence"])
    }
}
