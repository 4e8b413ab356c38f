import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import BonsaiServer

/// The dashboard in a real headless Chromium driven over WebDriver, against a live server with a
/// worker: sign in with a token (keyboard only), a server validation message on the generated
/// form, submit a tiny job from the form, watch it reach 100 %, read the drawn SVG charts' data
/// back and compare it with the API, download the weights (the saved file's SHA-256 equals the
/// server's), compare two jobs. Screenshots of every page at 1280 and 390 px wide go to
/// `.build/screenshots/`. Needs `chromium` and `chromium-driver`; BONSAI_SKIP_BROWSER=1 skips.
@Suite(.serialized) struct BrowserTests {
    static let shots = repositoryRoot.appendingPathComponent(".build/screenshots").path

    @Test func dashboardInHeadlessChromium() async throws {
        if ProcessInfo.processInfo.environment["BONSAI_SKIP_BROWSER"] == "1" { return }
        guard let driverPath = ChromeDriver.find() else {
            Issue.record("chromedriver not found: `apt-get install -y chromium chromium-driver` (.ci/run does), or set BONSAI_SKIP_BROWSER=1 to skip")
            return
        }
        try FileManager.default.createDirectory(atPath: Self.shots, withIntermediateDirectories: true)
        let downloads = NSTemporaryDirectory() + "bonsai-downloads-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: downloads, withIntermediateDirectories: true)
        // The test's own API client holds one keep-alive connection; on a loaded machine Chromium can
        // take over a minute to start, longer than the server's 30 s idle limit, which then closes
        // that connection ("I/O on closed channel" on the client's next call).
        let t = try TestServer(workers: 1) { $0.requestIdleSeconds = 600 }
        let driver = try await ChromeDriver(path: driverPath)
        defer { driver.stop() }
        try await t.server.testLive { client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let b = try await driver.session(downloads: downloads)
            do {
                try await run(b, base: base, client: client, t: t, downloads: downloads)
            } catch {
                try? await b.screenshot(to: "\(Self.shots)/failure.png")
                await b.quit()
                throw error
            }
            // The refused token (401) and the invalid spec (422) are logged by Chromium as failed loads: expected.
            let severe = await b.consoleLog().filter { ($0["level"] as? String) == "SEVERE" }.map { $0["message"] as? String ?? "" }
                .filter { !$0.contains("the server responded with a status of 401") && !$0.contains("the server responded with a status of 422") }
            #expect(severe.isEmpty, "browser console errors (CSP violations, script errors): \(severe)")
            await b.quit()
        }
        print("BrowserTests: screenshots in \(Self.shots)")
    }

    func run(_ b: BrowserSession, base: String, client: LiveClient, t: TestServer, downloads: String) async throws {
        // Sign in: the page loads without a token and asks for one; a wrong token is refused.
        try await b.go(base + "/")
        try await b.wait("login form", "return document.querySelector('#token') !== null")
        try await b.screenshot(to: "\(Self.shots)/login-wide.png")
        try await b.type("#token", "bns_wrong\u{E007}")
        try await b.wait("refusal", "return document.querySelector('#login-error')?.textContent.includes('not accepted')")
        try await b.type("#token", t.acme + "\u{E007}") // Enter: keyboard only
        try await b.wait("jobs page", "return document.querySelector('main')?.dataset.page === 'jobs' && document.querySelector('#jobs-table')")
        #expect(try await b.js("return localStorage.getItem('bonsai.token')") as? String == t.acme, "token kept in the browser's storage")

        // The submit form is generated from /v1/methods; the server's validation message lands on its field.
        try await b.go(base + "/#/submit")
        try await b.wait("method settings", "return document.querySelector('[data-path=\"method.sparsity\"]')")
        let methodCount = try await b.js("return document.querySelectorAll('#method option').length") as? Int ?? 0
        let catalog = json(try await client.execute(uri: "/v1/methods", method: .get, headers: t.headers(t.acme)).body)
        #expect(methodCount == (catalog["methods"] as? [Any])?.count, "every method is offered")
        let unlabelled = try await b.js("""
            return [...document.querySelectorAll('input, select, textarea')]
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id || e.name)
            """) as? [String] ?? ["?"]
        #expect(unlabelled.isEmpty, "inputs without a label: \(unlabelled)")
        try await b.select("#method", "magnitude")
        try await b.select("#architecture", "lenet300")
        try await b.type("#model-options", "{\"hidden\": [32]}")
        try await b.select("#dataset", "digits")
        try await b.select("#train-unit", "steps")
        try await b.type("#train-length", "24")
        try await b.type("#batch-size", "32")
        try await b.type("#lr", "0.05")
        try await b.select("#finetune-unit", "steps")
        try await b.type("#finetune-length", "8")
        try await b.type("[data-path=\"method.sparsity\"]", "1.5")
        try await b.click("#submit-job")
        let message = try await b.wait("server validation message", """
            const el = document.querySelector('[data-path="method.sparsity"]');
            return el.getAttribute('aria-invalid') === 'true' && document.getElementById(el.id + '-err').textContent
            """) as? String ?? ""
        #expect(message.contains("sparsity"), "the server's message is shown at the field: \(message)")
        _ = try await b.js("document.querySelector('[data-path=\"method.sparsity\"]').scrollIntoView({block: 'center'})")
        try await b.screenshot(to: "\(Self.shots)/submit-error-wide.png")
        try await b.type("[data-path=\"method.sparsity\"]", "0.8")
        try await b.screenshot(to: "\(Self.shots)/submit-wide.png")
        try await b.click("#submit-job")
        let hash = try await b.wait("job page", "return location.hash.startsWith('#/job/') && location.hash") as? String ?? ""
        let id = String(hash.dropFirst(6))

        // Progress reaches 100 %, the report and the mask picture appear.
        try await b.wait("job finished", timeout: 150, """
            return document.querySelector('#job-progress')?.dataset.fraction === '1' && document.querySelector('#report-summary')
              && document.querySelector('svg[data-chart="mask"] rect.cell') && document.querySelector('svg[data-chart="layers"] rect.bar')
            """)
        let job = json(try await client.execute(uri: "/v1/jobs/\(id)", method: .get, headers: t.headers(t.acme)).body)
        #expect(job["status"] as? String == "succeeded")
        try await b.wait("all loss points drawn", "return Number(document.querySelector('svg[data-chart=\"loss\"] path.line')?.dataset.count) === 32")
        let spec = try #require(job["spec"] as? [String: Any])
        #expect((spec["method"] as? [String: Any])?["sparsity"] as? Double == 0.8)
        #expect((spec["train"] as? [String: Any])?["steps"] as? Int == 24)

        // The charts' data points are the API's.
        let metrics = json(try await client.execute(uri: "/v1/jobs/\(id)/metrics?key=loss", method: .get, headers: t.headers(t.acme)).body)
        let lossCount = (metrics["metrics"] as? [Any])?.count ?? -1
        #expect(lossCount == 32)
        let drawn = try await b.js("""
            const q = (s) => document.querySelector(s);
            const all = (s) => [...document.querySelectorAll(s)];
            return {
              loss: Number(q('svg[data-chart="loss"] path.line')?.dataset.count),
              accuracy: Number(q('svg[data-chart="accuracy"] path.line')?.dataset.count),
              lossSegments: (q('svg[data-chart="loss"] path.line')?.getAttribute('d').match(/[ML]/g) || []).length,
              tradeoff: all('svg[data-chart="tradeoff"] circle.pt').map(c => [Number(c.dataset.x), Number(c.dataset.y)]),
              instability: all('svg[data-chart="instability"] rect.bar').length,
              layers: all('svg[data-chart="layers"] rect.bar').map(r => [r.dataset.label, Number(r.dataset.value)]),
              cells: all('svg[data-chart="mask"] rect.cell').map(r => Number(r.dataset.v)),
              layer: q('#mask-layer').value,
              accuracyText: q('#final-accuracy').textContent,
            };
            """) as? [String: Any] ?? [:]
        #expect(drawn["loss"] as? Int == lossCount && drawn["lossSegments"] as? Int == lossCount, "\(drawn["loss"] ?? "nil") loss points drawn")
        #expect(drawn["accuracy"] as? Int == lossCount)
        let result = try #require(job["result"] as? [String: Any])
        let events = try #require(job["pruning_events"] as? [[String: Any]])
        let tradeoff = drawn["tradeoff"] as? [[Double]] ?? []
        #expect(tradeoff.count == 2 * events.count + 1, "before/after per pruning event plus the final point")
        let sparsity = try #require(result["sparsity"] as? Double), accuracy = try #require(result["test_accuracy"] as? Double)
        #expect(tradeoff.contains { abs($0[0] - (1 - sparsity)) < 1e-9 && abs($0[1] - accuracy) < 1e-9 }, "final point at (remaining, accuracy)")
        #expect(drawn["instability"] as? Int == events.count)
        let report = json(try await client.execute(uri: "/v1/jobs/\(id)/report", method: .get, headers: t.headers(t.acme)).body)
        let prunable = (report["layers"] as? [[String: Any]] ?? []).filter { $0["prunable"] as? Bool == true }
        let bars = drawn["layers"] as? [[Any]] ?? []
        #expect(bars.count == prunable.count && bars.count > 0)
        for (bar, layer) in zip(bars, prunable) {
            #expect((bar[1] as? Double).map { abs($0 - (layer["sparsity"] as? Double ?? -1)) < 1e-9 } == true, "bar of \(layer["path"] ?? "")")
        }
        let layerName = drawn["layer"] as? String ?? ""
        let cells = drawn["cells"] as? [Double] ?? []
        let layerSparsity = prunable.first { $0["path"] as? String == layerName }?["sparsity"] as? Double ?? -1
        #expect(!cells.isEmpty && abs(cells.reduce(0, +) / Double(cells.count) - (1 - layerSparsity)) < 0.02,
                "mask picture of \(layerName): mean kept fraction vs the report's \(1 - layerSparsity)")
        try await b.screenshot(to: "\(Self.shots)/job-wide.png")

        // Download the weights through the page: the saved file is the server's file.
        try await b.click("#dl-weights")
        try await b.wait("download status", "return document.querySelector('#download-status')?.dataset.kind === 'weights'")
        let head = try await client.execute(uri: "/v1/jobs/\(id)/weights", method: .head, headers: t.headers(t.acme))
        let saved = downloads + "/\(id)-weights.safetensors"
        let deadline = Date().addingTimeInterval(15)
        while !FileManager.default.fileExists(atPath: saved) && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        let bytes = try #require(FileManager.default.contents(atPath: saved), "the browser saved \(saved)")
        #expect(String(bytes.count) == head.headers[.contentLength])
        #expect(SHA256.hex(bytes) == head.headers[HTTPField.Name("X-Content-SHA256")!])

        // The HTML report, saved through the page, opens from disk with no server: inline SVG only.
        try await b.click("#dl-report-html")
        let reportFile = downloads + "/\(id)-report.html"
        while !FileManager.default.fileExists(atPath: reportFile) && Date() < deadline.addingTimeInterval(15) { try await Task.sleep(for: .milliseconds(100)) }
        try await Task.sleep(for: .milliseconds(300))
        try await b.go("file://" + reportFile)
        let charts = try await b.wait("report charts", "return document.querySelectorAll('svg.chart').length") as? Int
        #expect(charts == 5)
        #expect(try await b.js("return Number(document.querySelector('svg[data-chart=\"loss\"] path.line').dataset.count)") as? Int == lossCount)
        let full = try await b.js("return document.documentElement.scrollHeight") as? Int ?? 900
        try await b.setSize(width: 1280, height: full + 140)
        try await b.screenshot(to: "\(Self.shots)/report-html-wide.png")
        try await b.setSize(width: 1280, height: 900)

        // A second job for the compare page, then every page at laptop and phone width.
        let second = json(try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.acme),
                                                   body: ByteBuffer(string: tinySpec(sparsity: 0.5))).body)
        let secondID = try #require(second["id"] as? String)
        try await b.go(base + "/#/jobs")
        try await b.wait("both jobs succeeded", timeout: 150, """
            return document.querySelectorAll('#jobs-table tr[data-status="succeeded"]').length === 2
            """)
        let compare = "\(base)/#/compare?ids=\(id),\(secondID)"
        try await b.go(compare)
        let lines = try await b.wait("compare chart", "return document.querySelectorAll('svg[data-chart=\"compare\"] path.line').length") as? Int
        #expect(lines == 2, "one curve per compared job")

        let pages = [("jobs", "/#/jobs", "#jobs-table tr[data-status]"), ("submit", "/#/submit", "[data-path=\"method.sparsity\"]"),
                     ("job", "/#/job/\(id)", "svg[data-chart=\"mask\"] rect.cell"), ("compare", "/#/compare?ids=\(id),\(secondID)", "svg[data-chart=\"compare\"] path.line")]
        for (width, label) in [(1280, "wide"), (390, "phone")] {
            try await b.setSize(width: width, height: 900)
            for (name, path, ready) in pages {
                try await b.go(base + "/index.html?\(label)" + path)
                try await b.wait("\(name) page", "return document.querySelector('\(ready.replacingOccurrences(of: "'", with: "\\'"))')")
                try await Task.sleep(for: .milliseconds(300))
                let overflow = try await b.js("return document.documentElement.scrollWidth - window.innerWidth") as? Int ?? 0
                #expect(overflow <= 1, "\(name) at \(width) px scrolls sideways by \(overflow) px")
                let full = try await b.js("return Math.min(6000, document.documentElement.scrollHeight)") as? Int ?? 900
                try await b.setSize(width: width, height: full + 140)
                try await b.screenshot(to: "\(Self.shots)/\(name)-\(label).png")
                try await b.setSize(width: width, height: 900)
            }
        }
        let innerWidth = try await b.js("return window.innerWidth") as? Int ?? 0
        #expect(innerWidth <= 400, "phone width really applied (innerWidth \(innerWidth))")
    }
}
