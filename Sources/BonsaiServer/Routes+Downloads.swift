import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird

extension BonsaiServer {
    static let artifactKinds: [(kind: String, file: String, type: String)] = [
        ("weights", "weights.safetensors", "application/octet-stream"),
        ("masks", "masks.safetensors", "application/octet-stream"),
        ("compact", "compact.safetensors", "application/octet-stream"),
        ("report", "report.json", "application/json"),
        ("runtime", "runtime.safetensors", "application/octet-stream"),
    ]

    func addDownloadRoutes(to v1: RouterGroup<BonsaiRequestContext>) {
        for entry in Self.artifactKinds {
            v1.get("jobs/:id/\(entry.kind)") { request, context in try await self.download(entry.kind, entry.file, entry.type, request, context) }
            v1.head("jobs/:id/\(entry.kind)") { request, context in try await self.download(entry.kind, entry.file, entry.type, request, context) }
        }
    }

    /// Serves an artifact with `Content-Length`, its SHA-256 (`Repr-Digest` per RFC 9530, and as
    /// hex in `X-Content-SHA256`), `ETag`, and single-range `Range` requests (206 / 416).
    func download(_ kind: String, _ file: String, _ type: String, _ request: Request, _ context: BonsaiRequestContext) async throws -> Response {
        let tenant = try context.tenant()
        let id = try Identifiers.jobID(context.parameters.get("id"))
        let store = self.store
        let (job, artifact) = try await Blocking.run { () -> (JobRecord, ArtifactRow?) in
            let job = try store.job(id: id, tenant: tenant)
            return (job, try store.artifact(jobSeq: job.seq, kind: kind))
        }
        guard job.status == .succeeded else {
            throw Problem(.conflict, "not-finished", "Job not finished", detail: "job \(id) is \(job.status.rawValue); artifacts exist once it succeeded")
        }
        guard let artifact else {
            throw Problem(.notFound, "no-artifact", "No such artifact",
                          detail: kind == "compact" ? "this job produced no compact model (structured compaction is not available for its method)"
                                                    : "job \(id) has no \(kind) artifact")
        }
        let path = layout.absolute(artifact.path)
        let size = Int(artifact.bytes)
        var headers: HTTPFields = [.contentType: type, .acceptRanges: "bytes", .eTag: "\"\(artifact.sha256)\""]
        headers[HTTPField.Name("Repr-Digest")!] = "sha-256=:\(Data(hexString: artifact.sha256)?.base64EncodedString() ?? ""):"
        headers[HTTPField.Name("X-Content-SHA256")!] = artifact.sha256
        headers[.contentDisposition] = "attachment; filename=\"\(id)-\(file)\""
        var range: ClosedRange<Int>?
        if let raw = request.headers[.range] {
            guard let r = Self.parseRange(raw, size: size) else {
                headers[.contentRange] = "bytes */\(size)"
                throw RangeNotSatisfiable(headers: headers)
            }
            range = r
        }
        let status: HTTPResponse.Status = range == nil ? .ok : .partialContent
        let served = range ?? 0...max(0, size - 1)
        let length = size == 0 ? 0 : served.count
        headers[.contentLength] = String(length)
        if let range { headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)" }
        if request.method == .head || length == 0 { return Response(status: status, headers: headers) }
        let body = try await fileIO.loadFile(path: path, range: served, context: context)
        return Response(status: status, headers: headers, body: body)
    }

    /// One `bytes=a-b`, `bytes=a-` or `bytes=-n` range clamped to the file, or nil when unsatisfiable.
    static func parseRange(_ header: String, size: Int) -> ClosedRange<Int>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst(6)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces), last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let n = Int(last), n > 0 else { return nil }
            return max(0, size - n)...(size - 1)
        }
        guard let a = Int(first), a >= 0, a < size else { return nil }
        if last.isEmpty { return a...(size - 1) }
        guard let b = Int(last), b >= a else { return nil }
        return a...min(b, size - 1)
    }
}

/// 416 with the `Content-Range: bytes */size` header.
struct RangeNotSatisfiable: Error, HTTPResponseError {
    var headers: HTTPFields
    var status: HTTPResponse.Status { .rangeNotSatisfiable }
    func response(from request: Request, context: some RequestContext) throws -> Response {
        var p = try Problem(.rangeNotSatisfiable, "range-not-satisfiable", "Range not satisfiable",
                            detail: "the Range header does not select bytes of this file").response(from: request, context: context)
        if let v = headers[.contentRange] { p.headers[.contentRange] = v }
        return p
    }
}

extension Data {
    init?(hexString: String) {
        guard hexString.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2)
            guard let b = UInt8(hexString[index..<next], radix: 16) else { return nil }
            bytes.append(b)
            index = next
        }
        self.init(bytes)
    }
}
