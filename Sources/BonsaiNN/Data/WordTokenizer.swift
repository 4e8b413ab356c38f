/// Splits text into word-level tokens: the pre-tokenisation step of ``Vocabulary``.
///
/// Rules, applied to the Unicode scalars of the (optionally lower-cased) text:
/// - white space separates tokens and is dropped;
/// - letters, digits and combining marks form words;
/// - an apostrophe (`'` or `’`) followed by a letter belongs to the word (`don't`, `n't`, `'s`,
///   as in the SST treebank tokenisation), otherwise it is punctuation;
/// - every other punctuation or symbol scalar is a token of its own (`?`, `,`, `-`, `&`, `$`), so
///   punctuation still carries signal (TREC questions end in `?`) without multiplying word forms.
///
/// The rules are deliberately simple and fixed: the vocabulary file records `version` so a model's
/// saved vocabulary is only used with the tokenisation it was built with.
public struct WordTokenizer: Sendable, Equatable, Codable {
    /// Tokenisation rule set; bump when the rules change.
    public static let rulesVersion = 1

    public var lowercase: Bool

    public init(lowercase: Bool = true) {
        self.lowercase = lowercase
    }

    /// The tokens of `text`.
    public func tokens(_ text: String) -> [String] {
        let source = lowercase ? text.lowercased() : text
        let scalars = Array(source.unicodeScalars)
        var tokens: [String] = []
        var word = String.UnicodeScalarView()
        func flush() {
            if !word.isEmpty {
                tokens.append(String(word))
                word = String.UnicodeScalarView()
            }
        }
        for index in scalars.indices {
            let scalar = scalars[index]
            let properties = scalar.properties
            if properties.isWhitespace {
                flush()
            } else if WordTokenizer.isWordScalar(scalar) {
                word.append(scalar)
            } else if WordTokenizer.isApostrophe(scalar), index + 1 < scalars.count,
                      scalars[index + 1].properties.isAlphabetic {
                word.append(scalar)
            } else if WordTokenizer.isControl(scalar) {
                flush()
            } else {
                flush()
                tokens.append(String(Character(scalar)))
            }
        }
        flush()
        return tokens
    }

    @inline(__always)
    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber, .nonspacingMark, .spacingMark, .enclosingMark:
            return true
        default:
            return false
        }
    }

    @inline(__always)
    static func isApostrophe(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "'" || scalar == "\u{2019}"
    }

    /// Control and format characters (zero-width joiners, BOMs inside text) are dropped like spaces.
    @inline(__always)
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return true
        default:
            return false
        }
    }
}
