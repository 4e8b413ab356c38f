import ArgumentParser
import BonsaiNN

@main
struct Bonsai: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bonsai",
        abstract: "Bonsai: a model-pruning job server and its command-line client.",
        subcommands: [ServeCommand.self, TokenCommand.self, SubmitCommand.self, StatusCommand.self, WatchCommand.self,
                      ListCommand.self, CancelCommand.self, DownloadCommand.self, UploadCommand.self, TrainCommand.self, PruneCommand.self,
                      ReproduceCommand.self, MethodsCommand.self, Bench.self, ExportSamplesCommand.self])
}
