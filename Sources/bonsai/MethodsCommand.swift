import ArgumentParser
import BonsaiPruning
import Foundation

/// `bonsai methods [--json]`: the registered pruning methods with their summaries, references and
/// (with `--json`) settings schemas and defaults — the same catalogue as `GET /v1/methods`.
struct MethodsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "methods", abstract: "List the pruning methods.")

    @Flag(help: "Print every method's JSON Schema and defaults.")
    var json = false

    func run() throws {
        if json {
            let entries: [[String: Any]] = PruningRegistry.methods.map { type in
                ["id": type.id, "summary": type.summary, "reference": type.reference, "schema": type.settingsSchema.jsonObject,
                 "defaults": (try? JSONSerialization.jsonObject(with: type.defaultSettingsJSON)) ?? [:]]
            }
            let data = try JSONSerialization.data(withJSONObject: entries, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        for type in PruningRegistry.methods {
            print("\(type.id.padding(toLength: 20, withPad: " ", startingAt: 0)) \(type.summary)")
        }
    }
}
