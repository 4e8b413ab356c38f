import ArgumentParser
import BonsaiTensor

@main
struct Bonsai: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bonsai",
        abstract: "Bonsai: a model-pruning job server and its command-line client.",
        subcommands: [Bench.self])
}
