import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Server URL and token for the client commands (flags, else `BONSAI_URL` / `BONSAI_TOKEN`).
struct ClientOptions: ParsableArguments {
    @Option(help: "Server URL (default BONSAI_URL or http://127.0.0.1:8080).") var url: String?
    @Option(help: "API token (default BONSAI_TOKEN).") var token: String?

    func client() throws -> APIClient {
        let env = ProcessInfo.processInfo.environment
        let base = url ?? env["BONSAI_URL"] ?? "http://127.0.0.1:8080"
        guard let parsed = URL(string: base) else { throw ValidationError("invalid server URL \(base)") }
        guard let token = token ?? env["BONSAI_TOKEN"], !token.isEmpty else { throw ValidationError("no token: pass --token or set BONSAI_TOKEN") }
        return APIClient(base: parsed, token: token)
    }
}

/// A blocking HTTP client for the CLI (URLSession + semaphore).
struct APIClient {
    let base: URL
    let token: String

    struct Failure: Error, CustomStringConvertible {
        var status: Int
        var body: String
        var description: String {
            if let data = body.data(using: .utf8), let p = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let detail = p["detail"] as? String { return "HTTP \(status): \(detail)" }
            return "HTTP \(status): \(body)"
        }
    }

    func request(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) throws -> (Int, [String: String], Data) {
        guard let url = URL(string: path, relativeTo: base) else { throw ValidationError("bad path \(path)") }
        var req = URLRequest(url: url)
        req.httpMethod = method
        req.httpBody = body
        req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if body != nil { req.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        for (k, v) in headers { req.setValue(v, forHTTPHeaderField: k) }
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<(Int, [String: String], Data), Error> = .failure(ValidationError("no response"))
        URLSession.shared.dataTask(with: req) { data, response, error in
            if let error { outcome = .failure(error) } else if let http = response as? HTTPURLResponse {
                var h: [String: String] = [:]
                for (k, v) in http.allHeaderFields { h[String(describing: k).lowercased()] = String(describing: v) }
                outcome = .success((http.statusCode, h, data ?? Data()))
            }
            semaphore.signal()
        }.resume()
        semaphore.wait()
        return try outcome.get()
    }

    /// A JSON request that must succeed (2xx); returns the decoded object.
    func json(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) throws -> [String: Any] {
        let (status, _, data) = try request(method, path, body: body, headers: headers)
        guard (200..<300).contains(status) else { throw Failure(status: status, body: String(decoding: data, as: UTF8.self)) }
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }
}

func printJSON(_ object: Any) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) {
        print(String(decoding: data, as: UTF8.self))
    }
}
