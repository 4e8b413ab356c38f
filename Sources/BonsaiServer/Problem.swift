import BonsaiJobs
import BonsaiPruning
import BonsaiStore
import Foundation
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem document (`application/problem+json`). Every error a request can cause
/// ends up here — `Problem.from(_:)` is the one place that maps library errors to HTTP statuses.
public struct Problem: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var slug: String
    public var title: String
    public var detail: String
    /// The request field the problem is about (a spec path such as `method.sparsity`, a query
    /// parameter, or a header name).
    public var field: String?
    public var extraHeaders: [(String, String)] = []

    public init(_ status: HTTPResponse.Status, _ slug: String, _ title: String, detail: String, field: String? = nil) {
        self.status = status; self.slug = slug; self.title = title; self.detail = detail; self.field = field
    }

    public static func notFound(_ what: String) -> Problem { Problem(.notFound, "not-found", "Not found", detail: "\(what) not found") }
    public static func invalid(_ field: String, _ detail: String) -> Problem {
        Problem(.unprocessableContent, "invalid-request", "Invalid request", detail: "\(field): \(detail)", field: field)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var object: [String: Any] = ["type": "https://bonsai.invalid/problems/\(slug)", "title": title, "status": Int(status.code),
                                     "detail": detail, "instance": request.uri.path]
        if let field { object["field"] = field; object["errors"] = [["field": field, "detail": detail]] }
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        for (name, value) in extraHeaders { if let n = HTTPField.Name(name) { headers[n] = value } }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Maps any error to a problem.
    public static func from(_ error: Error) -> Problem {
        switch error {
        case let p as Problem: return p
        case let e as PruningError:
            switch e {
            case let .invalidSetting(field, detail):
                return Problem(.unprocessableContent, "invalid-spec", "Invalid job spec", detail: field.isEmpty ? detail : "\(field): \(detail)",
                               field: field.isEmpty ? nil : field)
            case .unknownMethod:
                return Problem(.unprocessableContent, "invalid-spec", "Invalid job spec", detail: e.description, field: "method.name")
            default:
                return Problem(.unprocessableContent, "invalid-spec", "Invalid job spec", detail: e.description, field: "method")
            }
        case let e as StoreError:
            switch e {
            case let .notFound(what): return .notFound(what)
            case .illegalState: return Problem(.conflict, "illegal-state", "Illegal state change", detail: e.description)
            case .idempotencyMismatch:
                return Problem(.unprocessableContent, "idempotency-key-reused", "Idempotency-Key reused with another body",
                               detail: e.description, field: "Idempotency-Key")
            case .idempotencyInProgress:
                var p = Problem(.conflict, "idempotency-in-progress", "Request in progress", detail: e.description, field: "Idempotency-Key")
                p.extraHeaders = [("Retry-After", "1")]
                return p
            case .queueFull:
                var p = Problem(.tooManyRequests, "queue-full", "Tenant queue full", detail: e.description)
                p.extraHeaders = [("Retry-After", "10")]
                return p
            case let .invalid(field, detail): return .invalid(field, detail)
            case .leaseLost, .migrationChanged:
                return Problem(.internalServerError, "internal", "Internal error", detail: e.description)
            }
        case let e as MultipartError:
            return Problem(.badRequest, "invalid-multipart", "Malformed multipart/form-data body", detail: e.description, field: "body")
        case let e as SafetensorsError:
            return Problem(.unprocessableContent, "invalid-safetensors", "Invalid safetensors file", detail: e.description, field: "body")
        case let e as StateDictError:
            return Problem(.unprocessableContent, "weights-mismatch", "Weights do not fit the architecture", detail: e.description, field: "body")
        case let e as ModelZooError:
            return Problem(.unprocessableContent, "invalid-model", "Invalid model", detail: e.description, field: "options")
        case let e as HTTPResponseError:
            let status = e.status
            if status == .contentTooLarge {
                return Problem(.contentTooLarge, "body-too-large", "Request body too large", detail: "the request body exceeds the server's limit")
            }
            return Problem(status, "http-\(status.code)", status.reasonPhrase, detail: status.reasonPhrase)
        default:
            return Problem(.internalServerError, "internal", "Internal error", detail: "the server failed to process the request")
        }
    }
}
