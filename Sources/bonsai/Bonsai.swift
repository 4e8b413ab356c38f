import ArgumentParser
import BonsaiNN

@main
struct Bonsai: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bonsai",
        abstract: "Bonsai: a model-pruning job server and its command-line client.",
        subcommands: [TrainCommand.self, PruneCommand.self, ReproduceCommand.self, Bench.self, ExportSamplesCommand.self])
}
