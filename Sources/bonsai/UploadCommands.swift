import ArgumentParser
import Foundation

/// `bonsai upload model|dataset`: sends weights or a data set to the server and prints its record.
struct UploadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "upload", abstract: "Upload pretrained weights or a data set.",
                                                    subcommands: [UploadModelCommand.self, UploadDatasetCommand.self])
}

struct UploadModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Upload a safetensors state dict for a zoo architecture (POST /v1/models).")
    @Argument(help: "The safetensors file.") var file: String
    @Option(help: "Zoo architecture, e.g. lenet300.") var architecture: String
    @Option(help: "Built-in data set name or an uploaded data set's id.") var dataset: String
    @Option(help: "Architecture options as JSON, e.g. '{\"hidden\":[32]}'.") var options: String?
    @OptionGroup var client: ClientOptions

    func run() throws {
        let body = try Data(contentsOf: URL(fileURLWithPath: file))
        var query = URLComponents()
        query.queryItems = [URLQueryItem(name: "architecture", value: architecture), URLQueryItem(name: "dataset", value: dataset)]
            + (options.map { [URLQueryItem(name: "options", value: $0)] } ?? [])
        let path = "/v1/models?" + (query.percentEncodedQuery ?? "")
        printJSON(try client.client().json("POST", path, body: body, headers: ["Content-Type": "application/octet-stream"]))
    }
}

struct UploadDatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset", abstract: "Upload a data set (POST /v1/datasets), e.g. --format idx --part train_images=imgs.gz --part train_labels=labels.gz.")
    @Option(help: "idx, cifar or tsv.") var format: String
    @Option(name: .customLong("part"), help: "ROLE=FILE, repeated (roles: train_images, train_labels, test_images, test_labels, train, test, classes).")
    var parts: [String] = []
    @Option(help: "A label for the set.") var name: String?
    @Option(help: "IDX only: the largest pixel value (default 255).") var pixelMax: Int?
    @OptionGroup var client: ClientOptions

    func run() throws {
        let boundary = "bonsai-\(UUID().uuidString)"
        var body = Data()
        func add(_ field: String, _ content: Data, filename: String? = nil) {
            body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"".utf8))
            if let filename { body.append(Data("; filename=\"\(filename)\"".utf8)) }
            body.append(Data("\r\n\r\n".utf8) + content + Data("\r\n".utf8))
        }
        add("format", Data(format.utf8))
        if let name { add("name", Data(name.utf8)) }
        if let pixelMax { add("pixel_max", Data(String(pixelMax).utf8)) }
        for part in parts {
            let pieces = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pieces.count == 2, !pieces[0].isEmpty else { throw ValidationError("--part must be ROLE=FILE, got '\(part)'") }
            let url = URL(fileURLWithPath: pieces[1])
            guard let content = try? Data(contentsOf: url) else { throw ValidationError("cannot read \(pieces[1])") }
            add(pieces[0], content, filename: url.lastPathComponent)
        }
        body.append(Data("--\(boundary)--\r\n".utf8))
        printJSON(try client.client().json("POST", "/v1/datasets", body: body,
                                           headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"]))
    }
}
