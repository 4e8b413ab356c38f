import BonsaiJobs
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import BonsaiServer

@Suite struct AuthAndIsolationTests {
    @Test func tokensTenantsAndAdmin() async throws {
        let t = try TestServer()
        let app = Application(router: t.server.buildRouter())
        try await app.test(.router) { client in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            let anonymous = try await client.execute(uri: "/v1/jobs", method: .get)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.contentType] == "application/problem+json")
            #expect(try await client.execute(uri: "/v1/jobs", method: .get, headers: t.headers("bns_wrong")).status == .unauthorized)
            let created = try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.acme), body: ByteBuffer(string: tinySpec()))
            #expect(created.status == .accepted)
            let id = try #require(json(created.body)["id"] as? String)
            #expect(created.headers[.location] == "/v1/jobs/\(id)")
            // Another tenant's job does not exist for globex: 404 everywhere.
            for (uri, method) in [("/v1/jobs/\(id)", HTTPRequest.Method.get), ("/v1/jobs/\(id)/cancel", .post), ("/v1/jobs/\(id)", .delete),
                                  ("/v1/jobs/\(id)/metrics", .get), ("/v1/jobs/\(id)/weights", .get), ("/v1/jobs/\(id)/events", .get)] {
                #expect(try await client.execute(uri: uri, method: method, headers: t.headers(t.globex)).status == .notFound, "\(method) \(uri)")
            }
            let listed = json(try await client.execute(uri: "/v1/jobs", method: .get, headers: t.headers(t.globex)).body)
            #expect((listed["jobs"] as? [Any])?.isEmpty == true)
            #expect(try await client.execute(uri: "/metrics", method: .get, headers: t.headers(t.acme)).status == .forbidden)
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: t.headers(t.admin))
            #expect(metrics.status == .ok)
            #expect(String(buffer: metrics.body).contains("bonsai_queue_depth 1"))
            let text = String(buffer: metrics.body)
            #expect(text.contains("bonsai_http_request_duration_seconds_bucket"))
            // Per route, by template: the many job ids above share one series.
            #expect(text.contains("bonsai_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/jobs/{id}\"}"), "\(text)")
            #expect(!text.contains("route=\"/v1/jobs/\(id)"))
            #expect(text.contains("bonsai_http_requests_total{method=\"GET\",route=\"/v1/jobs/{id}\",status=\"404\"}"))
        }
    }
}

@Suite struct JobAPITests {
    @Test func badInputCorpusGivesClear4xx() async throws {
        let t = try TestServer { $0.maxBodyBytes = 64 * 1024 }
        let app = Application(router: t.server.buildRouter())
        let cases: [(body: String, status: HTTPResponse.Status, field: String?)] = [
            ("{not json", .unprocessableContent, nil),
            ("[1, 2]", .unprocessableContent, nil),
            (tinySpec().replacingOccurrences(of: #""seed": 1"#, with: #""seed": "one""#), .unprocessableContent, "seed"),
            (tinySpec().replacingOccurrences(of: #""name": "magnitude""#, with: #""name": "voodoo""#), .unprocessableContent, "method.name"),
            (tinySpec(sparsity: -0.1), .unprocessableContent, "method.sparsity"),
            (tinySpec(sparsity: 1.5), .unprocessableContent, "method.sparsity"),
            (tinySpec().replacingOccurrences(of: #""lenet300""#, with: #""lenet9000""#), .unprocessableContent, "model.architecture"),
            (tinySpec().replacingOccurrences(of: #""digits""#, with: #""../../etc/passwd""#), .unprocessableContent, "dataset.name"),
            (tinySpec().replacingOccurrences(of: #""seed": 1"#, with: #""seed": 1, "colour": "red""#), .unprocessableContent, "colour"),
            (tinySpec().replacingOccurrences(of: #""seed": 1"#, with: #""seed": 1, "priority": 1000"#), .unprocessableContent, "priority"),
            ("{\"pad\": \"" + String(repeating: "x", count: 200_000) + "\"}", .contentTooLarge, nil),
        ]
        try await app.test(.router) { client in
            for c in cases {
                let r = try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.acme), body: ByteBuffer(string: c.body))
                #expect(r.status == c.status, "\(c.body.prefix(80)) → \(r.status) \(String(buffer: r.body))")
                #expect(r.headers[.contentType] == "application/problem+json")
                let problem = json(r.body)
                #expect(problem["status"] as? Int == Int(c.status.code))
                if let field = c.field { #expect(problem["field"] as? String == field, "\(String(buffer: r.body))") }
            }
            for uri in ["/v1/jobs/..%2F..%2Fetc%2Fpasswd", "/v1/jobs/job-../weights", "/v1/jobs/job-0123456789abcdef012z",
                        "/v1/jobs/%00", "/v1/jobs/job-0123456789abcdef0123/report"] {
                let r = try await client.execute(uri: uri, method: .get, headers: t.headers(t.acme))
                #expect(r.status == .notFound, "\(uri) → \(r.status)")
            }
            for uri in ["/v1/jobs?status=exploded", "/v1/jobs?cursor=abc", "/v1/jobs?limit=0"] {
                #expect(try await client.execute(uri: uri, method: .get, headers: t.headers(t.acme)).status == .unprocessableContent, "\(uri)")
            }
            #expect(try await client.execute(uri: "/v1/jobs", method: .get, headers: t.headers(t.acme)).status == .ok)
        }
    }

    @Test func idempotencyETagCancelDeleteAndPagination() async throws {
        let t = try TestServer { $0.tenantMaxQueued = 3 }
        let app = Application(router: t.server.buildRouter())
        try await app.test(.router) { client in
            let h = t.headers(t.acme, ["Idempotency-Key": "abc-1"])
            let first = try await client.execute(uri: "/v1/jobs", method: .post, headers: h, body: ByteBuffer(string: tinySpec()))
            let again = try await client.execute(uri: "/v1/jobs", method: .post, headers: h, body: ByteBuffer(string: tinySpec()))
            #expect(first.status == .accepted && again.status == .accepted)
            let id = try #require(json(first.body)["id"] as? String)
            #expect(json(again.body)["id"] as? String == id)
            let other = try await client.execute(uri: "/v1/jobs", method: .post, headers: h, body: ByteBuffer(string: tinySpec(seed: 2)))
            #expect(other.status == .unprocessableContent)
            #expect(json(other.body)["field"] as? String == "Idempotency-Key")

            let shown = try await client.execute(uri: "/v1/jobs/\(id)", method: .get, headers: t.headers(t.acme))
            let etag = try #require(shown.headers[.eTag])
            let body = json(shown.body)
            #expect(body["status"] as? String == "queued")
            #expect((body["spec"] as? [String: Any])?["seed"] as? Int == 1)
            let cached = try await client.execute(uri: "/v1/jobs/\(id)", method: .get, headers: t.headers(t.acme, ["If-None-Match": etag]))
            #expect(cached.status == .notModified)

            // Queue limit 3 → 429 on the fourth queued job.
            _ = try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.acme), body: ByteBuffer(string: tinySpec()))
            _ = try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.acme), body: ByteBuffer(string: tinySpec()))
            let full = try await client.execute(uri: "/v1/jobs", method: .post, headers: t.headers(t.acme), body: ByteBuffer(string: tinySpec()))
            #expect(full.status == .tooManyRequests)

            // Pagination: 3 jobs, pages of 2.
            let page1 = json(try await client.execute(uri: "/v1/jobs?limit=2", method: .get, headers: t.headers(t.acme)).body)
            let cursor = try #require(page1["next_cursor"] as? String)
            let page2 = json(try await client.execute(uri: "/v1/jobs?limit=2&cursor=\(cursor)", method: .get, headers: t.headers(t.acme)).body)
            #expect((page1["jobs"] as? [Any])?.count == 2 && (page2["jobs"] as? [Any])?.count == 1)
            #expect(page2["next_cursor"] is NSNull)
            let summary = try #require(((page1["jobs"] as? [[String: Any]])?.first)?["summary"] as? [String: Any])
            #expect(summary["method"] as? String == "magnitude" && summary["architecture"] as? String == "lenet300"
                    && summary["dataset"] as? String == "digits")

            // Delete needs a final state (409); cancel a queued job; cancelling again is 409; then delete.
            #expect(try await client.execute(uri: "/v1/jobs/\(id)", method: .delete, headers: t.headers(t.acme)).status == .conflict)
            let cancelled = try await client.execute(uri: "/v1/jobs/\(id)/cancel", method: .post, headers: t.headers(t.acme))
            #expect(cancelled.status == .accepted && json(cancelled.body)["status"] as? String == "cancelled")
            #expect(try await client.execute(uri: "/v1/jobs/\(id)/cancel", method: .post, headers: t.headers(t.acme)).status == .conflict)
            #expect(try await client.execute(uri: "/v1/jobs/\(id)/weights", method: .get, headers: t.headers(t.acme)).status == .conflict)
            #expect(try await client.execute(uri: "/v1/jobs/\(id)?status=x", method: .get, headers: t.headers(t.acme, ["If-None-Match": etag])).status == .ok)
            #expect(try await client.execute(uri: "/v1/jobs/\(id)", method: .delete, headers: t.headers(t.acme)).status == .noContent)
            #expect(try await client.execute(uri: "/v1/jobs/\(id)", method: .get, headers: t.headers(t.acme)).status == .notFound)
        }
    }

    @Test func catalogs() async throws {
        let t = try TestServer()
        let app = Application(router: t.server.buildRouter())
        try await app.test(.router) { client in
            let methods = json(try await client.execute(uri: "/v1/methods", method: .get, headers: t.headers(t.acme)).body)
            let list = try #require(methods["methods"] as? [[String: Any]])
            #expect(list.contains { $0["id"] as? String == "magnitude" && $0["settings_schema"] is [String: Any] && $0["defaults"] is [String: Any] })
            let archs = json(try await client.execute(uri: "/v1/architectures", method: .get, headers: t.headers(t.acme)).body)
            #expect((archs["architectures"] as? [[String: Any]])?.contains { $0["name"] as? String == "lenet300" } == true)
            let sets = json(try await client.execute(uri: "/v1/datasets", method: .get, headers: t.headers(t.acme)).body)
            #expect((sets["datasets"] as? [[String: Any]])?.contains { $0["name"] as? String == "digits" } == true)
            let doc = json(try await client.execute(uri: "/v1/openapi.json", method: .get, headers: t.headers(t.acme)).body)
            #expect(doc["openapi"] as? String == "3.1.0")
            #expect((doc["paths"] as? [String: Any])?["/v1/jobs"] != nil)
        }
    }

    @Test func rangeParsing() {
        #expect(BonsaiServer.parseRange("bytes=0-9", size: 100) == 0...9)
        #expect(BonsaiServer.parseRange("bytes=90-", size: 100) == 90...99)
        #expect(BonsaiServer.parseRange("bytes=-10", size: 100) == 90...99)
        #expect(BonsaiServer.parseRange("bytes=95-200", size: 100) == 95...99)
        #expect(BonsaiServer.parseRange("bytes=100-", size: 100) == nil)
        #expect(BonsaiServer.parseRange("bytes=5-2", size: 100) == nil)
        #expect(BonsaiServer.parseRange("bytes=0-1,4-5", size: 100) == nil)
        #expect(BonsaiServer.parseRange("items=0-1", size: 100) == nil)
    }

    @Test func configFileEnvironmentAndValidation() throws {
        let path = repositoryRoot.appendingPathComponent("config/bonsai.json").path
        var config = try ServerConfig.load(file: path)
        #expect(config == ServerConfig(), "the documented file states the embedded defaults")
        try config.applyEnvironment(["BONSAI_PORT": "9090", "BONSAI_WORKERS": "3"])
        #expect(config.port == 9090 && config.workers.workers == 3)
        #expect(throws: ConfigError.self) { try config.applyEnvironment(["BONSAI_PORT": "eighty"]) }
        config.workers.heartbeatSeconds = 100
        #expect(throws: ConfigError.self) { try config.validate() }
    }
}
