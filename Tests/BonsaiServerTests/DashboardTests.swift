import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import BonsaiServer

/// The dashboard's serving (embedded files, content types, ETag, CSP, what needs a token) and the
/// self-contained HTML report. The browser itself is driven in ``BrowserTests``.
@Suite struct DashboardTests {
    static let staticDir = repositoryRoot.appendingPathComponent("Sources/BonsaiServer/Dashboard/static")

    @Test func embeddedFilesEqualTheStaticFiles() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.staticDir.path).sorted()
        #expect(DashboardAssets.files.map(\.name) == names, "run scripts/embed-dashboard.sh")
        for (name, text) in DashboardAssets.files {
            var file = try String(contentsOf: Self.staticDir.appendingPathComponent(name), encoding: .utf8)
            if file.hasSuffix("\n") { file.removeLast() }
            #expect(text == file, "\(name) differs from its embedded copy: run scripts/embed-dashboard.sh")
        }
    }

    /// Offline: no file refers to another origin (the SVG namespace URI is a name, not a fetch),
    /// and every module import names an embedded file.
    @Test func filesReferOnlyToThisOrigin() throws {
        for (name, text) in DashboardAssets.files {
            let stripped = text.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")
            #expect(!stripped.contains("http://") && !stripped.contains("https://") && !stripped.contains("//cdn"), "\(name) refers to another origin")
            for line in text.split(separator: "\n") where line.hasPrefix("import ") {
                guard let from = line.range(of: "from './") else { Issue.record("\(name): non-relative import \(line)"); continue }
                let target = line[from.upperBound...].prefix { $0 != "'" }
                #expect(DashboardAssets.byName[String(target)] != nil, "\(name) imports missing \(target)")
            }
        }
        let index = try #require(DashboardAssets.byName["index.html"]).body
        #expect(index.contains("src=\"/ui/app.js\"") && index.contains("href=\"/ui/app.css\"") && !index.contains("<script>"))
    }

    @Test func servesThePageWithoutATokenAndTheAPIStillNeedsOne() async throws {
        let t = try TestServer()
        try await t.server.makeApplication().test(.router) { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let csp = try #require(page.headers[HTTPField.Name("Content-Security-Policy")!])
            #expect(csp.contains("default-src 'self'") && csp.contains("script-src 'self'") && !csp.contains("http") && !csp.contains("unsafe"))
            #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(String(buffer: page.body).contains("<main id=\"main\""))
            let etag = try #require(page.headers[.eTag])
            let again = try await client.execute(uri: "/", method: .get, headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified && again.body.readableBytes == 0)

            for (file, type) in [("app.js", "text/javascript; charset=utf-8"), ("app.css", "text/css; charset=utf-8"), ("charts.js", "text/javascript; charset=utf-8")] {
                let r = try await client.execute(uri: "/ui/\(file)", method: .get)
                #expect(r.status == .ok && r.headers[.contentType] == type, "\(file)")
                #expect(r.headers[.cacheControl] == "no-cache" && r.headers[.eTag] != nil)
                #expect(String(buffer: r.body) == DashboardAssets.byName[file]?.body)
            }
            // Unknown files are not public; with a token they are 404.
            #expect(try await client.execute(uri: "/ui/secret.js", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/ui/secret.js", method: .get, headers: t.headers(t.acme)).status == .notFound)
            #expect(try await client.execute(uri: "/v1/jobs", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/methods", method: .get).status == .unauthorized)
        }
    }

    @Test func reportPageOfAnUnfinishedJobIsAConflict() async throws {
        let t = try TestServer()
        try await t.server.makeApplication().test(.router) { client in
            let created = json(try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.acme), body: ByteBuffer(string: tinySpec())).body)
            let id = try #require(created["id"] as? String)
            #expect(try await client.execute(uri: "/v1/jobs/\(id)/report.html", method: .get, headers: t.headers(t.acme)).status == .conflict)
            #expect(try await client.execute(uri: "/v1/jobs/\(id)/report.html", method: .get, headers: t.headers(t.globex)).status == .notFound)
            #expect(try await client.execute(uri: "/v1/jobs/\(id)/report.html", method: .get).status == .unauthorized)
        }
    }

    /// A finished job's report.html: one file with inline SVG charts whose plotted points are the
    /// job's metrics and report, and nothing fetched from anywhere.
    @Test func reportPageIsSelfContainedWithCharts() async throws {
        let t = try TestServer(workers: 1)
        try await t.server.testLive { client in
            let created = json(try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.acme), body: ByteBuffer(string: tinySpec())).body)
            let id = try #require(created["id"] as? String)
            let status = try await waitForJob(client, t, id: id, seconds: 150)["status"] as? String ?? ""
            #expect(status == "succeeded")
            let r = try await client.execute(uri: "/v1/jobs/\(id)/report.html", method: .get, headers: t.headers(t.acme))
            #expect(r.status == .ok && r.headers[.contentType] == "text/html; charset=utf-8")
            #expect(r.headers[.contentDisposition] == "attachment; filename=\"\(id)-report.html\"")
            let html = String(buffer: r.body)
            #expect(html.hasPrefix("<!doctype html>") && html.contains("</html>"))
            #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="), "self-contained")
            #expect(!html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"))
            for kind in ["loss", "accuracy", "tradeoff", "instability", "layers"] { #expect(html.contains("data-chart=\"\(kind)\""), "\(kind) chart") }
            #expect(html.contains("data-series=\"loss per step\" data-count=\"32\""), "one loss point per step")
            let report = json(try await client.execute(uri: "/v1/jobs/\(id)/report", method: .get, headers: t.headers(t.acme)).body)
            let prunable = (report["layers"] as? [[String: Any]] ?? []).filter { $0["prunable"] as? Bool == true }
            #expect(html.components(separatedBy: "class=\"bar\" data-value=").count - 1 == prunable.count + (report["events"] as? [Any] ?? []).count, "a sparsity bar per prunable layer, an instability bar per event")
            #expect(html.contains("FLOPs per sample") && html.contains("Parameters per tensor"))
        }
    }
}
