/// A small-scale reproduction of a paper's claim: runs, prints a table, and says whether the
/// expected ordering held. A claim that does not hold is reported as such, never tuned away.
public protocol Reproduction: Sendable {
    /// Command-line name, e.g. `"layer-collapse"`.
    static var name: String { get }
    /// The claim, in one sentence.
    static var claim: String { get }
    /// The section of METHODS.md it comes from.
    static var source: String { get }
    static func run(_ options: ReproductionOptions) throws -> ReproductionReport
}

/// How big and where: `quick` runs in a few minutes for CI-like checks; `full` is the recorded run.
public struct ReproductionOptions: Sendable {
    public var quick: Bool
    public var seeds: [UInt64]
    public var threads: Int
    public var dataDirectory: DataDirectory?
    /// Progress lines (the CLI prints them).
    public var log: @Sendable (String) -> Void

    public init(quick: Bool = false, seeds: [UInt64] = [1], threads: Int = 1, dataDirectory: DataDirectory? = nil,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.quick = quick; self.seeds = seeds; self.threads = threads; self.dataDirectory = dataDirectory; self.log = log
    }
}

/// One expected property and whether it held.
public struct ReproductionCheck: Sendable, Codable, Equatable {
    public var expectation: String
    public var held: Bool
    public var detail: String

    public init(_ expectation: String, held: Bool, detail: String = "") {
        self.expectation = expectation
        self.held = held
        self.detail = detail
    }
}

/// The result table of a reproduction.
public struct ReproductionReport: Sendable, Codable {
    public var name: String
    public var claim: String
    public var columns: [String]
    public var rows: [[String]]
    public var checks: [ReproductionCheck]
    public var notes: [String]

    public init(name: String, claim: String, columns: [String], rows: [[String]], checks: [ReproductionCheck], notes: [String] = []) {
        self.name = name; self.claim = claim; self.columns = columns; self.rows = rows; self.checks = checks; self.notes = notes
    }

    public var allHeld: Bool { checks.allSatisfy(\.held) }

    /// A Markdown table plus the checks (as pasted into the README's results section).
    public var markdown: String {
        var lines = ["### \(name)", "", "Claim: \(claim)", ""]
        lines.append("| " + columns.joined(separator: " | ") + " |")
        lines.append("|" + columns.map { _ in " --- " }.joined(separator: "|") + "|")
        for row in rows { lines.append("| " + row.joined(separator: " | ") + " |") }
        lines.append("")
        for check in checks {
            lines.append("- \(check.held ? "held" : "DID NOT HOLD"): \(check.expectation)\(check.detail.isEmpty ? "" : " (\(check.detail))")")
        }
        for note in notes { lines.append("- note: \(note)") }
        return lines.joined(separator: "\n")
    }
}

/// Every registered reproduction.
public enum ReproductionRegistry {
    public static let all: [any Reproduction.Type] = [
        GMPVersusOneShot.self,
        GRDASparsity.self,
        EdgePopupMNIST.self,
        SubsetSumDemonstration.self,
        HydraVersusLWM.self,
        MovementVersusMagnitude.self,
        SoftMovementLambda.self,
        GreedyToyRate.self,
        SCOPVersusL1.self,
        GreedyVersusMagnitudeWidth.self,
        GreedyVersusMagnitudeCNN.self,
        LotteryVersusReinit.self,
        SmartRatioVersusSNIP.self,
        LayerCollapse.self,
        PolarizationVersusSlimming.self,
        InstabilityOrdering.self,
        SWPVersusFilterL1.self,
        SWPLong.self,
        RuntimeRLBudget.self,
    ]

    public static func named(_ name: String) -> (any Reproduction.Type)? { all.first { $0.name == name } }
}

/// Formatting helpers for tables.
public enum Format {
    public static func percent(_ x: Double, digits: Int = 2) -> String {
        let scale = powDouble(10, Double(digits))
        return "\((100 * x * scale).rounded() / scale)%"
    }

    public static func number(_ x: Double, digits: Int = 4) -> String {
        let scale = powDouble(10, Double(digits))
        return "\((x * scale).rounded() / scale)"
    }
}
