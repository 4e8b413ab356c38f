import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
#if canImport(Glibc)
import Glibc
#endif

/// A minimal W3C WebDriver client over chromedriver (Debian's `chromium` + `chromium-driver`),
/// for the dashboard's browser tests: JSON over HTTP, nothing else.
struct BrowserError: Error, CustomStringConvertible {
    var description: String
}

final class ChromeDriver: @unchecked Sendable {
    var process: Process
    var base: URL

    /// `chromedriver` from PATH or the Debian locations, or nil.
    static func find() -> String? {
        let env = ProcessInfo.processInfo.environment
        if let p = env["CHROMEDRIVER"], FileManager.default.isExecutableFile(atPath: p) { return p }
        let dirs = (env["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/usr/lib/chromium"]
        return dirs.map { "\($0)/chromedriver" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func findChromium() -> String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A free TCP port on 127.0.0.1 (bound to port 0, read back, closed).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BrowserError(description: "socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw BrowserError(description: "bind() failed") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Starts chromedriver on a free port and waits until it reports ready. The port is found by
    /// binding port 0 and releasing it, so another process (a parallel test's server) can take it
    /// first; a driver that exits or never answers is therefore restarted on a new port, up to
    /// three times, and its stderr is quoted if all attempts fail.
    init(path: String) async throws {
        var failures: [String] = []
        process = Process()
        base = URL(string: "http://127.0.0.1:0")!
        for _ in 0..<3 {
            let port = try Self.freePort()
            let log = NSTemporaryDirectory() + "chromedriver-\(UUID().uuidString).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            try process.run()
            base = URL(string: "http://127.0.0.1:\(port)")!
            let deadline = Date().addingTimeInterval(30)
            var last = ""
            while Date() < deadline && process.isRunning {
                do {
                    let status = try await Self.request(base.appendingPathComponent("status"), method: "GET", body: nil)
                    if ((status["value"] as? [String: Any])?["ready"] as? Bool) == true { return }
                    last = "\(status)"
                } catch { last = "\(error)" }
                try await Task.sleep(for: .milliseconds(100))
            }
            let stderr = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            failures.append("port \(port): \(process.isRunning ? "no answer" : "exited") (\(last)) \(stderr.suffix(300))")
            stop()
        }
        throw BrowserError(description: "chromedriver did not become ready: \(failures.joined(separator: "; "))")
    }

    /// Kills chromedriver (it does not exit on SIGTERM; it takes its browsers with it on SIGKILL
    /// only after their sessions are deleted, which ``BrowserSession/quit()`` does).
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// One WebDriver call. The transport is HummingbirdTesting's NIO client (FoundationNetworking's
    /// URLSession fails against chromedriver with "Failed writing header").
    static func request(_ url: URL, method: String, body: Any?) async throws -> [String: Any] {
        let port = url.port ?? 80
        let path = url.path
        let payload = try body.map { ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: $0)) }
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(120))) { client in
            var headers: HTTPFields = [:]
            if payload != nil { headers[.contentType] = "application/json" }
            return try await client.execute(TestClient.Request(path, method: HTTPRequest.Method(rawValue: method)!, authority: "127.0.0.1:\(port)",
                                                               headers: headers, body: payload))
        }
        let data = response.body.map { Data($0.readableBytesView) } ?? Data()
        let status = Int(response.head.status.code)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        guard (200..<300).contains(status) else {
            let value = object["value"] as? [String: Any]
            throw BrowserError(description: "WebDriver \(method) \(path) → \(status): \(value?["error"] ?? "") \(value?["message"] ?? String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return object
    }

    /// A new headless Chromium session saving downloads to `downloads`.
    func session(downloads: String) async throws -> BrowserSession {
        var options: [String: Any] = [
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                     "--hide-scrollbars", "--force-device-scale-factor=1"],
            "prefs": ["download.default_directory": downloads, "download.prompt_for_download": false, "download.directory_upgrade": true],
        ]
        if let chromium = Self.findChromium() { options["binary"] = chromium }
        let caps: [String: Any] = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome", "goog:chromeOptions": options, "goog:loggingPrefs": ["browser": "ALL"]] as [String: Any]]]
        let created = try await Self.request(base.appendingPathComponent("session"), method: "POST", body: caps)
        guard let id = (created["value"] as? [String: Any])?["sessionId"] as? String else {
            throw BrowserError(description: "no session id in \(created)")
        }
        return BrowserSession(driver: self, id: id)
    }
}

/// One browser session: navigation, elements, scripts, screenshots.
struct BrowserSession: Sendable {
    let driver: ChromeDriver
    let id: String
    static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    @discardableResult
    func call(_ method: String, _ path: String, _ body: Any? = nil) async throws -> Any? {
        let url = driver.base.appendingPathComponent("session/\(id)\(path.isEmpty ? "" : "/" + path)")
        return try await ChromeDriver.request(url, method: method, body: body ?? (method == "POST" ? [String: Any]() : nil))["value"]
    }

    func go(_ url: String) async throws { try await call("POST", "url", ["url": url]) }

    func setSize(width: Int, height: Int) async throws { try await call("POST", "window/rect", ["width": width, "height": height]) }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    func js(_ script: String, _ args: [Any] = []) async throws -> Any? {
        try await call("POST", "execute/sync", ["script": script, "args": args])
    }

    func element(_ css: String) async throws -> String {
        guard let value = try await call("POST", "element", ["using": "css selector", "value": css]) as? [String: Any],
              let element = value[Self.elementKey] as? String else { throw BrowserError(description: "no element \(css)") }
        return element
    }

    func click(_ css: String) async throws { try await call("POST", "element/\(try await element(css))/click") }

    func type(_ css: String, _ text: String, clear: Bool = true) async throws {
        let e = try await element(css)
        if clear { try await call("POST", "element/\(e)/clear") }
        try await call("POST", "element/\(e)/value", ["text": text])
    }

    /// Chooses `value` in a <select> by clicking its option.
    func select(_ css: String, _ value: String) async throws { try await click("\(css) option[value=\"\(value)\"]") }

    /// Polls `condition` (a script returning a truthy value) until it holds; returns its value.
    @discardableResult
    func wait(_ what: String, timeout: Double = 30, _ condition: String) async throws -> Any {
        let deadline = Date().addingTimeInterval(timeout)
        var last: Any?
        while Date() < deadline {
            last = try await js(condition)
            if let v = last, !(v is NSNull), (v as? Bool) != false, (v as? String) != "" { return v }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BrowserError(description: "timed out after \(timeout) s waiting for \(what) (last: \(String(describing: last)))")
    }

    func screenshot(to path: String) async throws {
        guard let b64 = try await call("GET", "screenshot") as? String, let data = Data(base64Encoded: b64) else {
            throw BrowserError(description: "no screenshot data")
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Browser console entries (chromedriver's legacy log endpoint), or [] when unavailable.
    func consoleLog() async -> [[String: Any]] {
        ((try? await call("POST", "se/log", ["type": "browser"])) as? [[String: Any]]) ?? []
    }

    func quit() async { _ = try? await call("DELETE", "") }
}
