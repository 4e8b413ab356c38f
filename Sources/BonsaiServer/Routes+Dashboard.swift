import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird

extension BonsaiServer {
    /// The dashboard (`/`, `/ui/<file>`, no token needed: the page asks for one) and the
    /// self-contained HTML report of a job (`/v1/jobs/{id}/report.html`, token needed).
    func addDashboardRoutes(to router: Router<BonsaiRequestContext>, v1: RouterGroup<BonsaiRequestContext>) {
        router.get("/") { request, _ in try BonsaiServer.serveAsset("index.html", request) }
        router.get("index.html") { request, _ in try BonsaiServer.serveAsset("index.html", request) }
        router.get("ui/:file") { request, context in try BonsaiServer.serveAsset(context.parameters.get("file") ?? "", request) }
        v1.get("jobs/:id/report.html") { request, context in try await self.reportPage(request, context) }
    }

    /// An embedded file with its content type, ETag (304 on `If-None-Match`), `Cache-Control:
    /// no-cache` (always revalidated, so a new binary's files are picked up at once) and the CSP.
    static func serveAsset(_ name: String, _ request: Request) throws -> Response {
        guard let asset = DashboardAssets.byName[name] else { throw Problem.notFound("file \(name)") }
        var headers: HTTPFields = [.eTag: asset.etag, .cacheControl: "no-cache"]
        headers[HTTPField.Name("Content-Security-Policy")!] = DashboardAssets.contentSecurityPolicy
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        if let match = request.headers[.ifNoneMatch],
           match.split(separator: ",").contains(where: { let t = $0.trimmingCharacters(in: .whitespaces); return t == asset.etag || t == "*" }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: asset.body)))
    }

    /// `GET /v1/jobs/{id}/report.html`: the finished job's report as one HTML file with inline SVG
    /// charts and no external reference (see ``ReportPage``).
    func reportPage(_ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        let id = try Identifiers.jobID(context.parameters.get("id"))
        let store = self.store, layout = self.layout
        let html = try await Blocking.run { () -> String in
            let job = try store.job(id: id, tenant: tenant)
            guard job.status == .succeeded else {
                throw Problem(.conflict, "not-finished", "Job not finished", detail: "job \(id) is \(job.status.rawValue); its report exists once it succeeded")
            }
            guard let artifact = try store.artifact(jobSeq: job.seq, kind: "report"),
                  let data = FileManager.default.contents(atPath: layout.absolute(artifact.path)) else {
                throw Problem(.notFound, "no-artifact", "No such artifact", detail: "job \(id) has no report")
            }
            let metrics = try ReportPage.metricKeys.flatMap { try store.metrics(jobSeq: job.seq, key: $0, limit: 1_000_000) }
            var phases: [(name: String, steps: Int)] = []
            var after: Int64 = 0
            while true {
                let batch = try store.events(jobSeq: job.seq, after: after)
                for e in batch where e.kind == "phase_started" {
                    guard let object = JSONBody.parse(e.data) as? [String: Any], let name = object["phase"] as? String,
                          !phases.contains(where: { $0.name == name }) else { continue }
                    phases.append((name, object["planned_steps"] as? Int ?? 0))
                }
                guard let last = batch.last, batch.count == 500 else { break }
                after = last.id
            }
            return try ReportPage(job: job, reportJSON: data, metrics: metrics, phases: phases).html()
        }
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"]
        headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        headers[.contentDisposition] = "attachment; filename=\"\(id)-report.html\""
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }
}
