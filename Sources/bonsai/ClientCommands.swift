import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `bonsai submit spec.json`: submits a job and prints its id.
struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "submit", abstract: "Submit a job spec to a server.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "Job spec (JSON).") var spec: String
    @Option(help: "Idempotency-Key (resubmitting with the same key returns the same job).") var idempotencyKey: String?

    func run() throws {
        guard let body = FileManager.default.contents(atPath: spec) else { throw ValidationError("cannot read \(spec)") }
        let job = try options.client().json("POST", "/v1/jobs", body: body,
                                            headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:])
        print(job["id"] as? String ?? "?")
    }
}

/// `bonsai status ID`: the job as JSON.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a job.")
    @OptionGroup var options: ClientOptions
    @Argument var id: String
    func run() throws { printJSON(try options.client().json("GET", "/v1/jobs/\(id)")) }
}

/// `bonsai list [--status S]`.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs (newest first).")
    @OptionGroup var options: ClientOptions
    @Option var status: String?
    @Option var limit = 50
    func run() throws {
        var path = "/v1/jobs?limit=\(limit)"
        if let status { path += "&status=\(status)" }
        let page = try options.client().json("GET", path)
        for job in page["jobs"] as? [[String: Any]] ?? [] {
            let progress = (job["progress"] as? [String: Any])?["fraction"] as? Double ?? 0
            print(String(format: "%@  %-9@  %5.1f%%  %@", job["id"] as? String ?? "?", job["status"] as? String ?? "?", 100 * progress,
                         job["phase"] as? String ?? "-"))
        }
        if let next = page["next_cursor"] as? String { print("(more: cursor \(next))") }
    }
}

/// `bonsai cancel ID`.
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a job.")
    @OptionGroup var options: ClientOptions
    @Argument var id: String
    func run() throws {
        let job = try options.client().json("POST", "/v1/jobs/\(id)/cancel")
        print("\(id): \(job["status"] as? String ?? "?")\((job["cancel_requested"] as? Bool) == true ? " (cancelling)" : "")")
    }
}

/// `bonsai download ID --weights -o FILE`: verifies the SHA-256 the server announces.
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "download", abstract: "Download a finished job's artifact.")
    enum Kind: String, EnumerableFlag { case weights, masks, compact, report }
    @OptionGroup var options: ClientOptions
    @Argument var id: String
    @Flag var kind: Kind = .weights
    @Option(name: .shortAndLong, help: "Output file.") var output: String

    func run() throws {
        let (status, headers, data) = try options.client().request("GET", "/v1/jobs/\(id)/\(kind.rawValue)")
        guard status == 200 else { throw APIClient.Failure(status: status, body: String(decoding: data, as: UTF8.self)) }
        if let expected = headers["x-content-sha256"], DigestCheck.hex(data) != expected {
            throw ValidationError("digest mismatch: the server announced \(expected)")
        }
        try data.write(to: URL(fileURLWithPath: output), options: .atomic)
        print("wrote \(output) (\(data.count) bytes, sha256 \(headers["x-content-sha256"] ?? "?"))")
    }
}

/// `bonsai watch ID`: follows the job's server-sent events, printing phases, progress and the result.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch", abstract: "Follow a job's progress until it ends.")
    @OptionGroup var options: ClientOptions
    @Argument var id: String

    func run() throws {
        let client = try options.client()
        var lastID: String?
        // Reconnects with Last-Event-ID until the stream ends on a final status.
        for _ in 0..<100 {
            let ended = try SSEReader.follow(client: client, path: "/v1/jobs/\(id)/events", lastEventID: lastID) { event in
                lastID = event.id ?? lastID
                WatchCommand.show(event)
            }
            if ended { break }
            Thread.sleep(forTimeInterval: 1)
        }
        let job = try client.json("GET", "/v1/jobs/\(id)")
        print("final status: \(job["status"] as? String ?? "?")")
        if let result = job["result"] as? [String: Any] { printJSON(result) }
        if let error = job["error"] as? String { print("error: \(error)") }
    }

    static func show(_ e: SSEReader.Event) {
        let data = (e.data.data(using: .utf8).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]) ?? [:]
        switch e.name {
        case "progress":
            let step = data["step"] as? Int ?? 0, planned = max(1, data["planned_steps"] as? Int ?? 1)
            let eta = data["eta_seconds"] as? Double ?? -1
            print(String(format: "  step %d/%d (%.0f%%)%@", step, planned, 100 * Double(step) / Double(planned),
                         eta >= 0 ? String(format: ", ETA %.0fs", eta) : ""))
        case "phase_started": print("phase \(data["phase"] as? String ?? "?")")
        case "pruned":
            print(String(format: "  pruned (%@): sparsity %.2f%%", data["name"] as? String ?? "?", 100 * (data["sparsity"] as? Double ?? 0)))
        case "status": print("status: \(data["status"] as? String ?? "?")\((data["error"] as? String).map { " (\($0))" } ?? "")")
        case "epoch":
            print(String(format: "  epoch %d: train loss %.4f", data["epoch"] as? Int ?? 0, data["train_loss"] as? Double ?? .nan))
        default: break
        }
        fflush(nil)
    }
}

/// A minimal server-sent-events client over URLSession's delegate callbacks.
final class SSEReader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    struct Event { var id: String?; var name: String; var data: String }

    private var buffer = ""
    private var current = Event(id: nil, name: "message", data: "")
    private let handler: (Event) -> Void
    private let done = DispatchSemaphore(value: 0)
    private var sawFinalStatus = false
    private var failure: Error?
    private var status = 0

    init(handler: @escaping (Event) -> Void) { self.handler = handler }

    /// Streams until the server closes; returns whether a final status was seen.
    static func follow(client: APIClient, path: String, lastEventID: String?, handler: @escaping (Event) -> Void) throws -> Bool {
        guard let url = URL(string: path, relativeTo: client.base) else { throw ValidationError("bad path") }
        var request = URLRequest(url: url)
        request.setValue("Bearer \(client.token)", forHTTPHeaderField: "Authorization")
        request.setValue("text/event-stream", forHTTPHeaderField: "Accept")
        if let lastEventID { request.setValue(lastEventID, forHTTPHeaderField: "Last-Event-ID") }
        request.timeoutInterval = 3600
        let reader = SSEReader(handler: handler)
        let session = URLSession(configuration: .default, delegate: reader, delegateQueue: nil)
        session.dataTask(with: request).resume()
        reader.done.wait()
        session.finishTasksAndInvalidate()
        if reader.status != 200 && reader.status != 0 { throw APIClient.Failure(status: reader.status, body: reader.buffer) }
        if let failure = reader.failure, !reader.sawFinalStatus { throw failure }
        return reader.sawFinalStatus
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        status = (response as? HTTPURLResponse)?.statusCode ?? 0
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        buffer += String(decoding: data, as: UTF8.self)
        guard status == 200 else { return }
        while let newline = buffer.firstIndex(of: "\n") {
            let line = String(buffer[..<newline])
            buffer = String(buffer[buffer.index(after: newline)...])
            if line.isEmpty {
                if !current.data.isEmpty {
                    if current.name == "status", ["\"succeeded\"", "\"failed\"", "\"cancelled\""].contains(where: current.data.contains) {
                        sawFinalStatus = true
                    }
                    handler(current)
                }
                current = Event(id: current.id, name: "message", data: "")
            } else if line.hasPrefix("id: ") { current.id = String(line.dropFirst(4)) }
            else if line.hasPrefix("event: ") { current.name = String(line.dropFirst(7)) }
            else if line.hasPrefix("data: ") { current.data += String(line.dropFirst(6)) }
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        failure = error
        done.signal()
    }
}
