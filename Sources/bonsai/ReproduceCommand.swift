import ArgumentParser
import BonsaiPruning
import Foundation

/// `bonsai reproduce NAME`: a small-scale run of a paper's claim, printing a table and whether the
/// expected ordering held (`--list` shows the names).
struct ReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce", abstract: "Reproduce a paper's claim at small scale and print the table.")

    @Argument(help: "Reproduction name (see --list).")
    var name: String?

    @Flag(help: "List the reproductions.")
    var list = false

    @Flag(help: "A shorter run (fewer epochs) for a quick check.")
    var quick = false

    @Option(help: "Comma-separated seeds.")
    var seeds: String = "1"

    @Option(help: "Thread budget.")
    var threads: Int = 2

    @Option(help: "Data directory (default: BONSAI_DATA_DIR or the repository's data/).")
    var dataDir: String?

    @Option(help: "Also write the report as JSON here.")
    var json: String?

    func run() throws {
        if list || name == nil {
            for r in ReproductionRegistry.all { print("\(r.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(r.claim)") }
            return
        }
        guard let r = ReproductionRegistry.named(name!) else {
            throw ValidationError("unknown reproduction '\(name!)'; see bonsai reproduce --list")
        }
        let seedList = seeds.split(separator: ",").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard !seedList.isEmpty else { throw ValidationError("--seeds must list integers") }
        let options = ReproductionOptions(quick: quick, seeds: seedList, threads: threads,
                                          dataDirectory: try dataDir.map { try DataDirectory(path: $0) },
                                          log: { print("  \($0)") })
        let started = Date()
        let report = try r.run(options)
        print(report.markdown)
        print(String(format: "(%.0f s)", Date().timeIntervalSince(started)))
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }
}
